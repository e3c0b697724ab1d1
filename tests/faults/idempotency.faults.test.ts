import { randomUUID } from 'node:crypto';
import { runFaultScenario } from './harness/scenario';

/** Scenario 9: the same event (same event_id) sent three times, concurrently and later → stored once. */
describe('client retries with the same event_id', () => {
  it('three concurrent sends and late ones store one row per event', async () => {
    const repeated = Array.from({ length: 200 }, (_, i) => ({
      event_id: randomUUID(),
      site_id: `retry-site-${i % 7}`,
      event_type: 'page_view',
      path: `/retry/${i}`,
      user_id: `retry-user-${i}`,
      timestamp: new Date().toISOString(),
    }));
    let stored = -1;
    await runFaultScenario(
      { name: 'same_event_id_x3_then_late', load: { eventsPerSecond: 1500, batchSize: 15, maxEvents: 15_000 } },
      async ({ stage, ledger, load }) => {
        const url = stage.ingestUrls()[0]!;
        const post = async (route: string, body: unknown, ids: string[]) => {
          const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          ledger.note(`repeat_${res.status}`);
          if (res.status === 202) for (const id of ids) ledger.accepted.add(id);
        };
        // Three at once, in the middle of other traffic…
        await Promise.all(repeated.flatMap((e) => [post('/event', e, [e.event_id]), post('/event', e, [e.event_id]), post('/event', e, [e.event_id])]));
        await load.finished();
        await stage.drain();
        // …and again once they were stored, singly and through the batch endpoint.
        await Promise.all(repeated.map((e) => post('/event', e, [e.event_id])));
        await post('/events', { events: repeated.slice(0, 50) }, repeated.slice(0, 50).map((e) => e.event_id));
        await stage.drain();
        const rows = await stage.db('analytics.website_events').whereIn('event_id', repeated.map((e) => e.event_id)).count<{ n: number }[]>({ n: '*' });
        stored = Number(rows[0]!.n);
        return { recoveryS: 0 };
      },
    );
    expect(stored).toBe(repeated.length);
  });
});
