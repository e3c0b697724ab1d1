import { seededRandom, type Ev } from './model';

/** Sites and their zones: whole-hour, half-hour and 45-minute offsets, and a zone with DST. */
export const ZONES: Record<string, string> = {
  'site-utc': 'UTC',
  'site-kolkata': 'Asia/Kolkata',
  'site-kathmandu': 'Asia/Kathmandu',
  'site-ny': 'America/New_York',
};

const PATHS = ['/', '/pricing', '/docs', '/docs/start', '/blog', '/blog/2025', '/about', '/café', '/日本', '/🚀', '/Z', '/a', '/b', '/signup', '/login'];
const TYPES: [string, number][] = [['page_view', 0.7], ['click', 0.2], ['signup', 0.05], ['scroll', 0.05]];

/**
 * A fixed dataset: events on both sides of every site's local midnight, on New York's 23-hour (2025-03-09) and
 * 25-hour (2025-11-02) days, clicks on viewed paths, ties, unicode paths, users seen on many days (so a range
 * must count them once), spread over Feb–Apr and Oct–Dec 2025 — and a share of it sent twice with the same
 * event_id. Returns what to send, in sending order.
 */
export function fixedDataset(seed = 20251116): Ev[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
  const events: Ev[] = [];
  const add = (site_id: string, event_type: string, path: string, user_id: string, timestamp: string) =>
    events.push({ event_id: uuid(), site_id, event_type, path, user_id, timestamp });

  for (const site of Object.keys(ZONES)) {
    // Local midnights: Kolkata 18:30Z, Kathmandu 18:15Z, New York 05:00Z (EST) / 04:00Z (EDT), UTC 00:00Z.
    for (const ts of ['2025-11-15T18:29:59.999Z', '2025-11-15T18:30:00Z', '2025-11-15T18:14:59Z', '2025-11-15T18:15:00Z', '2025-11-16T23:59:59Z', '2025-11-17T00:00:00Z']) {
      add(site, 'page_view', '/midnight', `edge-${site}`, ts);
    }
    // New York: 2025-03-09 has 23 hours, 2025-11-02 has 25 (01:30 happens twice: 05:30Z EDT, 06:30Z EST).
    for (const ts of ['2025-03-09T04:59:59Z', '2025-03-09T05:00:00Z', '2025-03-09T06:59:59Z', '2025-03-09T07:00:00Z', '2025-03-10T03:59:59Z', '2025-03-10T04:00:00Z',
      '2025-11-02T03:59:59Z', '2025-11-02T04:00:00Z', '2025-11-02T05:30:00Z', '2025-11-02T06:30:00Z', '2025-11-03T04:59:59Z', '2025-11-03T05:00:00Z']) {
      add(site, 'page_view', '/dst', `dst-${ts.slice(0, 13)}`, ts);
    }
    // Offsets in the timestamp itself do not matter, only the instant: 23:30 at -05:00 is 04:30Z the next day.
    add(site, 'click', '/offset', 'offset-user', '2025-11-16T23:30:00-05:00');
    add(site, 'page_view', '/offset', 'offset-user', '2025-11-17T01:00:00+09:00');
  }

  // The bulk: two windows of months, a small user base (users recur across days), weighted event types.
  const windows: [number, number][] = [
    [Date.parse('2025-02-15T00:00:00Z'), Date.parse('2025-04-15T00:00:00Z')],
    [Date.parse('2025-10-20T00:00:00Z'), Date.parse('2025-12-10T00:00:00Z')],
  ];
  for (let i = 0; i < 1600; i++) {
    const [start, end] = pick(windows);
    const ts = new Date(start + Math.floor(rnd() * (end - start))).toISOString();
    let r = rnd();
    const type = TYPES.find(([, p]) => (r -= p) < 0)?.[0] ?? 'page_view';
    // Skewed paths and users: a few are popular, so top lists have clear leaders and ties further down.
    const path = PATHS[Math.floor(PATHS.length * rnd() ** 2)]!;
    const user = `user-${Math.floor(60 * rnd() ** 2)}`;
    add(pick(Object.keys(ZONES)), type, path, user, ts);
  }

  // Sent twice, same event_id: stored and counted once.
  const again = events.filter(() => rnd() < 0.05).map((e) => ({ ...e }));
  return [...events, ...again];
}
