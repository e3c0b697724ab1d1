import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Events per POST /events in the batch runs. */
export const BATCH = 100;

/** The seed's event, varied by `i` over 20 sites and 50 paths. */
export function event(i: number): Record<string, string> {
  return { site_id: `site-${i % 20}`, event_type: 'page_view', path: `/page/${i % 50}`, user_id: `user-${i}`, timestamp: '2025-11-16T10:00:00Z' };
}

/** What the tracker sends on a campaign landing: the seed's fields plus context. */
export function eventWithContext(i: number): Record<string, unknown> {
  return {
    ...event(i),
    hostname: 'shop.example.com',
    referrer: 'https://www.google.com/search?q=running+shoes',
    utm_source: 'newsletter',
    utm_medium: 'email',
    utm_campaign: 'spring',
    props: { plan: 'pro', seats: 3 },
  };
}

/** A desktop Chrome behind one proxy (ingest runs with TRUST_PROXY_HOPS=1 in the bench). */
export const BROWSER_HEADERS = [
  'user-agent=Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'x-forwarded-for=81.2.69.142',
];

export interface BodyFiles {
  single: string;
  batch: string;
  rich: string;
}

/** Writes the three request bodies autocannon sends into `dir`. */
export function writeBodies(dir: string): BodyFiles {
  const files = { single: join(dir, 'event.json'), batch: join(dir, 'events.json'), rich: join(dir, 'event-context.json') };
  writeFileSync(files.single, JSON.stringify(event(1)));
  writeFileSync(files.rich, JSON.stringify(eventWithContext(1)));
  writeFileSync(files.batch, JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => event(i)) }));
  return files;
}
