import { CONTEXT_LIMITS } from '@sitestream/shared';

/**
 * The referrer as stored: scheme://host/path. The query string and fragment are dropped (they carry tokens,
 * e-mail addresses, search terms), and so are user name and password. Clipped to the column's length: the
 * WHATWG parser percent-encodes, so a long non-ASCII path can grow past what the client sent.
 */
export function storedReferrer(url: URL | undefined): string | undefined {
  if (!url) return undefined;
  const stored = `${url.protocol}//${url.host}${url.pathname}`;
  return [...stored].length > CONTEXT_LIMITS.referrer ? [...stored].slice(0, CONTEXT_LIMITS.referrer).join('') : stored;
}

/**
 * Where the visit came from. `utm_source` as given wins; otherwise the referrer's host, lower-cased and without
 * a leading `www.` — unless that host is exactly the page's own `hostname` (an internal navigation: compared
 * before `www.` is removed, so www.example.com → example.com is external, as is any other subdomain, and so is
 * every referrer of an event that names no hostname). Absent means direct / none.
 */
export function deriveSource(utmSource: string | undefined, referrer: URL | undefined, hostname: string | undefined): string | undefined {
  if (utmSource !== undefined) return utmSource;
  if (!referrer) return undefined;
  // The URL parser lower-cases the host already; hostnames may carry a trailing dot, referrers too.
  const host = referrer.hostname;
  if (hostname !== undefined && host === hostname) return undefined;
  const source = host.startsWith('www.') ? host.slice(4) : host;
  return source === '' ? undefined : source.slice(0, CONTEXT_LIMITS.utm);
}
