import type { Knex } from 'knex';

/**
 * Data lifecycle: a retention period per site, tombstones for erased visitors and deleted sites, and the key of
 * the visitor hash the tombstones hold (the user id itself, personal data, is never kept after an erasure).
 */
export async function up(knex: Knex): Promise<void> {
  // NULL: the deployment default (RETENTION_DAYS), itself unset = keep everything.
  await knex.raw('ALTER TABLE analytics.sites ADD COLUMN retention_days INTEGER CHECK (retention_days > 0)');
  // Counts without personal data (per type, path, day) may outlive the raw rows; per-user rows never do.
  await knex.raw('ALTER TABLE analytics.sites ADD COLUMN keep_aggregates BOOLEAN NOT NULL DEFAULT false');
  // Days before this one were removed by retention: a rebuild leaves their kept aggregates alone.
  await knex.raw('ALTER TABLE analytics.sites ADD COLUMN retained_from DATE');

  // One row, made here: 244 random bits from two v4 UUIDs (PostgreSQL has no gen_random_bytes without pgcrypto).
  await knex.raw(`
    CREATE TABLE analytics.visitor_hash_key (
      only_one BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_one),
      hash_key BYTEA   NOT NULL
    )`);
  await knex.raw(`INSERT INTO analytics.visitor_hash_key (hash_key)
    VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))`);
  // Keyed, so a tombstone cannot be matched against a list of guessed user ids without the database's key.
  await knex.raw(`
    CREATE FUNCTION analytics.visitor_hash(key BYTEA, site TEXT, user_id TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN sha256(key || convert_to(site, 'UTF8') || '\\x00'::bytea || convert_to(user_id, 'UTF8'))`);

  // A tombstone: events of the visitor (user_hash) or of the whole site (user_hash NULL) from before `erased_at`
  // are never stored again, whether they are late, re-sent or replayed from Kafka.
  await knex.raw(`
    CREATE TABLE analytics.erasures (
      id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      site_id   VARCHAR(255) NOT NULL,
      user_hash BYTEA,
      erased_at TIMESTAMPTZ  NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE UNIQUE INDEX erasures_visitor_uq ON analytics.erasures (site_id, user_hash) WHERE user_hash IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX erasures_site_uq ON analytics.erasures (site_id) WHERE user_hash IS NULL');

  // The site of a dead letter's payload, when it is JSON with a site_id (a deleted site's dead letters go too).
  await knex.raw(`
    CREATE FUNCTION analytics.payload_site(payload BYTEA) RETURNS TEXT
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
    BEGIN
      RETURN convert_from(payload, 'UTF8')::jsonb ->> 'site_id';
    EXCEPTION WHEN OTHERS THEN
      RETURN NULL;
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS analytics.payload_site(BYTEA)');
  await knex.raw('DROP TABLE IF EXISTS analytics.erasures');
  await knex.raw('DROP FUNCTION IF EXISTS analytics.visitor_hash(BYTEA, TEXT, TEXT)');
  await knex.raw('DROP TABLE IF EXISTS analytics.visitor_hash_key');
  for (const column of ['retained_from', 'keep_aggregates', 'retention_days']) await knex.raw(`ALTER TABLE analytics.sites DROP COLUMN IF EXISTS ${column}`);
}
