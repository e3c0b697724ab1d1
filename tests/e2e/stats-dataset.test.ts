import { createTestKey, getJson, postJson, startPipeline, type Pipeline } from '../helpers/pipeline';
import { countRows } from '../helpers/test-database';
import { waitFor } from '../helpers/wait-for';

interface Ev {
  site_id: string;
  event_type: string;
  path: string;
  user_id: string;
  timestamp: string;
}

/**
 * A fixed dataset over several sites, days, event types, users and paths. The expected answers are computed
 * here from the definitions in the README, without any of the service's code.
 */
function dataset(): Ev[] {
  const events: Ev[] = [];
  const add = (site_id: string, event_type: string, path: string, user_id: string, timestamp: string, times = 1) => {
    for (let i = 0; i < times; i++) events.push({ site_id, event_type, path, user_id, timestamp });
  };
  // Both sides of midnight UTC on site-a.
  add('site-a', 'page_view', '/home', 'u1', '2025-11-16T23:59:59Z');
  add('site-a', 'page_view', '/home', 'u2', '2025-11-17T00:00:00Z');
  add('site-a', 'page_view', '/late', 'u3', '2025-11-16T23:59:59.999Z');
  // Non-UTC offsets: 23:30 at -05:00 is 04:30 the next UTC day; 01:00 at +09:00 is 16:00 the previous one.
  add('site-a', 'page_view', '/offset', 'u4', '2025-11-16T23:30:00-05:00');
  add('site-a', 'page_view', '/offset', 'u5', '2025-11-17T01:00:00+09:00');
  add('site-a', 'page_view', '/offset', 'u6', '2025-11-16T05:45:00+05:45');
  // Ties in path counts on 2025-11-16 (decided by path in code point order), unicode paths, clicks on paths.
  add('site-a', 'page_view', '/b', 'u1', '2025-11-16T08:00:00Z', 3);
  add('site-a', 'page_view', '/a', 'u2', '2025-11-16T09:00:00Z', 3);
  add('site-a', 'page_view', '/Z', 'u3', '2025-11-16T09:30:00Z', 3);
  add('site-a', 'page_view', '/café', 'u7', '2025-11-16T10:00:00Z', 2);
  add('site-a', 'page_view', '/日本', 'u8', '2025-11-16T10:00:00Z', 2);
  add('site-a', 'page_view', '/🚀', 'u9', '2025-11-16T10:00:00Z', 2);
  add('site-a', 'click', '/b', 'u10', '2025-11-16T11:00:00Z', 5);
  add('site-a', 'click', '/only-clicked', 'u11', '2025-11-16T11:00:00Z', 4);
  add('site-a', 'signup', '/signup', 'u12', '2025-11-16T12:00:00Z');
  // Many paths with one view each: more than ten paths in total, so the top-10 cut matters.
  for (let i = 0; i < 8; i++) add('site-a', 'page_view', `/p${i}`, 'u1', '2025-11-16T13:00:00Z');
  // Other sites on the same days must not leak.
  add('site-b', 'page_view', '/home', 'u1', '2025-11-16T10:00:00Z', 4);
  add('site-b', 'click', '/home', 'x1', '2025-11-16T10:00:00Z');
  add('site-c', 'click', '/nothing-viewed', 'y1', '2025-11-16T10:00:00Z', 2);
  return events;
}

function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function expected(events: Ev[], site: string, date: string) {
  const day = events.filter((e) => e.site_id === site && new Date(e.timestamp).toISOString().slice(0, 10) === date);
  const views = day.filter((e) => e.event_type === 'page_view');
  const counts = new Map<string, number>();
  for (const v of views) counts.set(v.path, (counts.get(v.path) ?? 0) + 1);
  const top = [...counts.entries()]
    .sort(([pa, a], [pb, b]) => b - a || byCodePoint(pa, pb))
    .slice(0, 10)
    .map(([path, n]) => ({ path, views: n }));
  return { site_id: site, date, total_views: views.length, unique_users: new Set(day.map((e) => e.user_id)).size, top_paths: top };
}

describe('stats over a fixed dataset', () => {
  let pipeline: Pipeline;
  let auth: Record<string, string>;
  const events = dataset();

  beforeAll(async () => {
    pipeline = await startPipeline();
    auth = (await createTestKey(pipeline.db)).headers;
    for (let i = 0; i < events.length; i += 25) {
      const r = await postJson(`${pipeline.ingestUrl}/events`, { events: events.slice(i, i + 25) });
      expect(r.status).toBe(202);
    }
    await waitFor(async () => {
      return (await countRows(pipeline.db, 'analytics.website_events')) === events.length || undefined;
    }, { what: `${events.length} rows stored` });
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  const cases: [string, string][] = [
    ['site-a', '2025-11-15'],
    ['site-a', '2025-11-16'],
    ['site-a', '2025-11-17'],
    ['site-b', '2025-11-16'],
    ['site-c', '2025-11-16'],
    ['site-b', '2025-11-17'],
  ];
  it.each(cases)('when %s is asked for %s, then the answer matches the independent computation', async (site, date) => {
    const r = await getJson(`${pipeline.reportingUrl}/stats?site_id=${encodeURIComponent(site)}&date=${date}`, auth);
    expect(r.status).toBe(200);
    const seed = expected(events, site, date);
    expect(Object.fromEntries(Object.keys(seed).map((k) => [k, r.body[k]]))).toStrictEqual(seed);
  });

  it('the dataset really exercises ties, the top-10 cut, unicode and offsets', () => {
    const a16 = expected(events, 'site-a', '2025-11-16');
    expect(a16.top_paths).toHaveLength(10);
    expect(a16.top_paths.slice(0, 3).map((p) => p.path)).toEqual(['/Z', '/a', '/b']);
    expect(a16.top_paths.slice(3, 7).map((p) => p.path)).toEqual(['/café', '/offset', '/日本', '/🚀']);
    expect(expected(events, 'site-a', '2025-11-17').total_views).toBe(2);
    expect(expected(events, 'site-a', '2025-11-15').total_views).toBe(0);
  });
});
