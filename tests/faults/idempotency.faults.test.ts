import { randomUUID } from 'node:crypto';
import { Ledger, settleLedger } from './harness/ledger';
import { LoadGenerator } from './harness/load';
import { Stage } from './harness/stage';

/** Scenario 9: the same event (same event_id) sent three times, concurrently and later → stored once. */
describe('client retries with the same event_id', () => {
  it('three concurrent sends and a late one store one row per event', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      const ingest = await stage.startIngest();
      await stage.startConsumer();
      const ledger = new Ledger();
      const load = new LoadGenerator(ledger, { targets: stage.ingestUrls, eventsPerSecond: 1500, batchSize: 15, maxEvents: 15_000 });
      const repeated = Array.from({ length: 200 }, (_, i) => ({
        event_id: randomUUID(),
        site_id: `retry-site-${i % 7}`,
        event_type: 'page_view',
        path: `/retry/${i}`,
        user_id: `retry-user-${i}`,
        timestamp: new Date().toISOString(),
      }));
      const send = async (event: (typeof repeated)[number]) => {
        const res = await fetch(`${ingest.url}/event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
        ledger.note(`repeat_${res.status}`);
        if (res.status === 202) ledger.accepted.add(event.event_id);
      };
      // Three at once…
      await Promise.all(repeated.flatMap((e) => [send(e), send(e), send(e)]));
      await load.finished();
      await stage.drain();
      // …and once more after they were stored (also via the batch endpoint).
      await Promise.all(repeated.map(send));
      await fetch(`${ingest.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: repeated.slice(0, 50) }) });
      await stage.drain();
      const result = await settleLedger('same_event_id_x3_then_late', ledger, stage.db, 0);
      const rows = await stage.db('analytics.website_events').whereIn('event_id', repeated.map((e) => e.event_id)).count<{ n: number }[]>({ n: '*' });
      expect(Number(rows[0]!.n)).toBe(repeated.length);
      expect(result.lost).toBe(0);
      expect(result.duplicated).toBe(0);
    } finally {
      await stage.stop();
    }
  });
});
