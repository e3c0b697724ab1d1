import { seededRandom, type Ev } from './model';

/** The visit dataset's sites (suffixes; a scenario prefixes them) and their zones. */
export const VISIT_ZONES: Record<string, string> = {
  utc: 'UTC',
  kolkata: 'Asia/Kolkata',
  ny: 'America/New_York',
};

/**
 * A fixed dataset for visits: gaps just under, exactly at and just over 30 minutes; visits across local midnight
 * in Asia/Kolkata (18:30Z) and New York, across New York's DST changes; bounces; visits without page views;
 * events of one instant (the event_id decides which is first); late events that extend, bridge or precede a
 * visit whatever order they are sent in; and random visitors. Sites are `${prefix}-${suffix}`.
 */
export function visitDataset(prefix: string, seed = 1313): Ev[] {
  const rnd = seededRandom(seed);
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };
  const events: Ev[] = [];
  const add = (site: string, event_type: string, path: string, user_id: string, at: number | string) =>
    events.push({ event_id: uuid(), site_id: `${prefix}-${site}`, event_type, path, user_id, timestamp: new Date(at).toISOString() });
  const T = Date.parse('2025-11-16T10:00:00Z');
  const MIN = 60_000;

  // Gaps: 29:59.999 and exactly 30:00 stay in; 30:00.001 starts a new visit.
  add('utc', 'page_view', '/a', 'gap-under', T);
  add('utc', 'page_view', '/b', 'gap-under', T + 30 * MIN - 1);
  add('utc', 'click', '/b', 'gap-under', T + 60 * MIN - 2);
  add('utc', 'page_view', '/a', 'gap-exact', T);
  add('utc', 'page_view', '/b', 'gap-exact', T + 30 * MIN);
  add('utc', 'page_view', '/c', 'gap-exact', T + 60 * MIN + 1);
  add('utc', 'page_view', '/a', 'gap-over', T);
  add('utc', 'page_view', '/b', 'gap-over', T + 30 * MIN + 1);
  // A bridge: 50 minutes apart until the event in the middle arrives (in some orders, after both sides).
  add('utc', 'page_view', '/left', 'bridge', T);
  add('utc', 'page_view', '/right', 'bridge', T + 50 * MIN);
  add('utc', 'click', '/middle', 'bridge', T + 25 * MIN);
  // Bounces, a one-click visit (no page views: neither bounce nor entry), a view and a click (no bounce).
  add('utc', 'page_view', '/landing', 'bouncer-1', T);
  add('utc', 'page_view', '/landing', 'bouncer-2', T + 5 * MIN);
  add('utc', 'click', '/button', 'clicker', T);
  add('utc', 'scroll', '/button', 'clicker', T + 10 * MIN);
  add('utc', 'page_view', '/p', 'viewer-clicker', T);
  add('utc', 'click', '/p', 'viewer-clicker', T);
  // Same instant: entry and exit page decided by event_id order.
  for (const path of ['/x', '/y', '/z', '/w']) add('utc', 'page_view', path, 'same-instant', T);
  // Midnight UTC crossed: the visit belongs to the day of its first event.
  add('utc', 'page_view', '/late', 'midnight-utc', '2025-11-16T23:50:00Z');
  add('utc', 'page_view', '/early', 'midnight-utc', '2025-11-17T00:10:00Z');

  // Kolkata: local midnight is 18:30Z; this visit starts on 2025-11-15 local and ends on the 16th.
  add('kolkata', 'page_view', '/k1', 'midnight-ist', '2025-11-15T18:10:00Z');
  add('kolkata', 'page_view', '/k2', 'midnight-ist', '2025-11-15T18:35:00Z');
  add('kolkata', 'click', '/k2', 'midnight-ist', '2025-11-15T18:50:00Z');
  // Starts at local 00:00 exactly.
  add('kolkata', 'page_view', '/k3', 'at-midnight-ist', '2025-11-15T18:30:00Z');

  // New York: spring forward 2025-03-09 07:00Z (01:50 EST → 03:10 EDT is 20 minutes), fall back 2025-11-02
  // (01:30 happens twice, 05:30Z and 06:30Z), and local midnight 2025-03-09 (05:00Z).
  add('ny', 'page_view', '/s1', 'spring', '2025-03-09T06:50:00Z');
  add('ny', 'page_view', '/s2', 'spring', '2025-03-09T07:10:00Z');
  for (const ts of ['2025-11-02T05:30:00Z', '2025-11-02T05:55:00Z', '2025-11-02T06:20:00Z', '2025-11-02T06:30:00Z']) add('ny', 'page_view', '/f', 'fall', ts);
  add('ny', 'page_view', '/m1', 'midnight-ny', '2025-03-09T04:50:00Z');
  add('ny', 'click', '/m1', 'midnight-ny', '2025-03-09T05:10:00Z');

  // Random visitors: gaps drawn around the 30-minute line (so visits merge and split), several event types.
  for (const site of Object.keys(VISIT_ZONES)) {
    for (let u = 0; u < 4; u++) {
      let at = Date.parse('2025-11-15T20:00:00Z') + Math.floor(rnd() * 6 * 3_600_000);
      for (let i = 0; i < 20; i++) {
        const r = rnd();
        add(site, r < 0.6 ? 'page_view' : r < 0.85 ? 'click' : 'signup', `/r${Math.floor(rnd() * 5)}`, `random-${u}`, at);
        at += rnd() < 0.1 ? 0 : Math.floor(rnd() * 45 * MIN);
      }
    }
  }
  return events;
}

/** A permutation from a seed: the same shuffle every run. */
export function shuffled<T>(xs: T[], seed: number): T[] {
  const rnd = seededRandom(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The orders a test sends a dataset in, each plus, when `resend`, a third of it again (same event_id). */
export function sendOrders(events: Ev[]): Record<string, Ev[]> {
  const asc = [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  const third = shuffled(events, 7).slice(0, Math.ceil(events.length / 3));
  return {
    ascending: asc,
    reversed: [...asc].reverse(),
    shuffled: shuffled(events, 42),
    resent: [...shuffled(events, 43), ...third],
    interleaved: [...shuffled(third, 5), ...shuffled(events, 44)],
  };
}
