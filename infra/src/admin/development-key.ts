import { createApiKey, revokeApiKeysNamed, type Knex } from '@sitestream/db';

const NAME = 'development (npm start)';

/**
 * The key `npm start` prints so the quick start works in two commands: every site, 30 days. Each start revokes
 * the previous one, so development keys do not pile up.
 */
export async function createDevelopmentKey(db: Knex): Promise<string> {
  await revokeApiKeysNamed(db, NAME);
  const { key } = await createApiKey(db, { name: NAME, expiresAt: new Date(Date.now() + 30 * 86_400_000) });
  return key;
}

/** The ready-to-paste example and the dashboard's address, printed after start-up. */
export function statsExample(key: string, reportingPort: number): string {
  return [
    'Development API key for /stats (every site, 30 days, replaced on the next npm start):',
    `  curl -H "Authorization: Bearer ${key}" "http://localhost:${reportingPort}/stats?site_id=site-abc-123&date=2025-11-16"`,
    `Dashboard: http://localhost:${reportingPort}/ (sign in with the key above)`,
    '',
  ].join('\n');
}
