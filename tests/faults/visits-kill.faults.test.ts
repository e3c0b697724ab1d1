import { setSiteTimeZone } from '@sitestream/db';
import { getStats, parseStatsParams } from '@sitestream/reporting';
import { waitFor } from '../helpers/wait-for';
import { distinctEvents, type Ev } from '../reporting/model';
import { shuffled, visitDataset, VISIT_ZONES } from '../reporting/visits-dataset';
import { modelVisitMetrics, modelVisits } from '../reporting/visits-model';
import { storedVisits } from '../reporting/visit-snapshot';
import { committedProgress } from './harness/scenario';
import { Stage } from './harness/stage';

/**
 * Visits under kill -9: the consumer is killed repeatedly while a shuffled visit dataset (late events, bridges,
 * same-instant events, a share re-sent) streams in. Each batch's visits commit with its rows or not at all,
 * so after the drain the visits and their metrics are the model's.
 */
describe('visits while the consumer is killed with SIGKILL', () => {
  it('after ≥4 kills and a drain, stored visits and visit metrics equal the model', async () => {
    const stage = await Stage.create({ brokers: 1 });
    try {
      await stage.startIngest();
      await stage.startConsumer();
      const prefixes = Array.from({ length: 8 }, (_, i) => `k${i}`);
      const zones: Record<string, string> = {};
      const all: Ev[] = [];
      for (const [i, prefix] of prefixes.entries()) {
        for (const [site, zone] of Object.entries(VISIT_ZONES)) zones[`${prefix}-${site}`] = zone;
        all.push(...visitDataset(prefix, 100 + i));
      }
      for (const [site, zone] of Object.entries(zones)) await setSiteTimeZone(stage.db, site, zone);
      const sent = shuffled([...all, ...shuffled(all, 2).slice(0, all.length / 4)], 1);

      let sending = true;
      const producer = (async () => {
        try {
          for (let i = 0; i < sent.length; i += 10) {
            const events = sent.slice(i, i + 10);
            // Ingest stays up; a refusal would be retried with the same event_ids (stored once).
            await waitFor(
              async () => {
                const r = await fetch(`${stage.ingestUrls()[0]}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
                return r.status === 202;
              },
              { what: 'a batch accepted', timeoutMs: 30_000 },
            );
            // Paced (about half a minute in all), so the kills land while the dataset streams.
            if (i % 20 === 0) await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          sending = false;
        }
      })();

      let kills = 0;
      let killsWhileSending = 0;
      while (sending || kills < 4) {
        await Promise.race([committedProgress(stage), producer]);
        if (sending) killsWhileSending++;
        await stage.signal(stage.consumers.at(-1)!, 'SIGKILL');
        kills++;
        await stage.startConsumer();
      }
      await producer;
      await stage.drain();
      // Otherwise the scenario proved nothing about faults mid-stream.
      expect(killsWhileSending).toBeGreaterThanOrEqual(3);

      const stored = distinctEvents(sent);
      const expected = modelVisits(stored, zones);
      for (const prefix of prefixes) {
        expect(await storedVisits(stage.db, `${prefix}-`)).toStrictEqual(expected.filter((v) => v.site_id.startsWith(`${prefix}-`)));
      }
      for (const site of Object.keys(zones)) {
        const stats = await getStats(stage.db, parseStatsParams({ site_id: site, from: '2025-03-01', to: '2025-11-30' }));
        const { visits, bounce_rate, visit_duration, views_per_visit } = stats as unknown as Record<string, number>;
        expect({ site, visits, bounce_rate, visit_duration, views_per_visit }).toStrictEqual({ site, ...modelVisitMetrics(expected, site, '2025-03-01', '2025-11-30') });
      }
      process.stdout.write(`visits under kill -9: ${stored.length} distinct events, ${expected.length} visits, kills=${kills} (${killsWhileSending} while sending)\n`);
    } catch (err) {
      process.stderr.write(stage.logs());
      throw err;
    } finally {
      await stage.stop();
    }
  });
});
