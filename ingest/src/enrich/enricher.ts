import { UTM_FIELDS, type EventContext, type EventInput } from '@sitestream/shared';
import { visitorAgent } from './bots';
import type { CountryLookup } from './geoip';
import { deriveSource, storedReferrer } from './source';
import { UserAgentCache } from './user-agent';

/** What ingest knows about the request an event came in, held only in memory. */
export interface RequestFacts {
  /** The client address as Express resolved it (X-Forwarded-For only as far as TRUST_PROXY_HOPS allows). */
  ip: string | undefined;
  /** The request's User-Agent header. */
  userAgent: string | undefined;
}

export type Enriched = { bot: true } | { bot: false; context: EventContext };

/**
 * Derives an event's context at the edge: source and stored referrer, campaign, browser/os/device, country,
 * props. The raw IP and user agent are read here and go no further: the context holds only derived values.
 */
export class Enricher {
  constructor(
    private readonly countries: Pick<CountryLookup, 'country'> | undefined,
    private readonly agents = new UserAgentCache(),
  ) {}

  enrich(event: EventInput, request: RequestFacts): Enriched {
    const agent = visitorAgent(event.user_agent, request.userAgent);
    const facts = agent === undefined ? undefined : this.agents.facts(agent);
    if (facts?.bot) return { bot: true };

    const context: EventContext = {};
    if (event.hostname !== undefined) context.hostname = event.hostname;
    // Validated as an absolute http(s) URL (or "", none): parsed once for both uses.
    const referrerUrl = event.referrer ? new URL(event.referrer) : undefined;
    const referrer = storedReferrer(referrerUrl);
    if (referrer !== undefined) context.referrer = referrer;
    const source = deriveSource(event.utm_source, referrerUrl, event.hostname);
    if (source !== undefined) context.source = source;
    for (const field of UTM_FIELDS) {
      const value = event[field];
      if (value !== undefined) context[field] = value;
    }
    if (facts) Object.assign(context, facts.device);
    const ip = event.ip ?? request.ip;
    const country = ip === undefined ? undefined : this.countries?.country(ip);
    if (country !== undefined) context.country = country;
    if (event.props !== undefined && Object.keys(event.props).length > 0) context.props = event.props;
    return { bot: false, context };
  }
}
