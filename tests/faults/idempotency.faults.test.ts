import { randomUUID } from 'node:crypto';
import { waitFor } from '../helpers/wait-for';
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
      async ({ stage, ledger, inject }) => {
        for (const e of repeated) ledger.sent(e);
        const url = stage.ingestUrls()[0]!;
        const post = async (route: string, body: unknown, ids: string[]) => {
          const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
          ledger.note(`repeat_${res.status}`);
          for (const id of ids) (res.status === 202 ? ledger.accepted : ledger.unacknowledged).add(id);
        };
        // Three at once, in the middle of other traffic…
        await inject('three concurrent sends', () =>
          Promise.all(repeated.flatMap((e) => [post('/event', e, [e.event_id]), post('/event', e, [e.event_id]), post('/event', e, [e.event_id])])),
        );
        const storedRepeats = async () =>
          Number((await stage.db('analytics.website_events').whereIn('event_id', repeated.map((e) => e.event_id)).count<{ n: number }[]>({ n: '*' }))[0]!.n);
        await waitFor(async () => (await storedRepeats()) === repeated.length, { what: 'the repeated events to be stored', timeoutMs: 120_000 });
        // …and again once they were stored (the load still running), singly and through the batch endpoint.
        await inject('late sends', async () => {
          await Promise.all(repeated.map((e) => post('/event', e, [e.event_id])));
          await post('/events', { events: repeated.slice(0, 50) }, repeated.slice(0, 50).map((e) => e.event_id));
        });
        await stage.waitCaughtUp(120_000);
        stored = await storedRepeats();
        return { recoveryS: 0 };
      },
    );
    expect(stored).toBe(repeated.length);
  });
});
