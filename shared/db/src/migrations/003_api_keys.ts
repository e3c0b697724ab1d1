import type { Knex } from 'knex';

/**
 * API keys for the reporting API. Only a SHA-256 of each key is stored (keys are 192 random bits, so a fast
 * hash is enough); `key_prefix` is the public part of the key, used to find the row and to name the key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE analytics.api_keys (
      id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key_prefix TEXT        NOT NULL CONSTRAINT api_keys_prefix_uq UNIQUE,
      key_hash   BYTEA       NOT NULL CONSTRAINT api_keys_hash_uq UNIQUE CHECK (octet_length(key_hash) = 32),
      name       TEXT        NOT NULL DEFAULT '',
      -- NULL: every site, present and future.
      site_ids   TEXT[]      CHECK (site_ids IS NULL OR cardinality(site_ids) > 0),
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      expires_at TIMESTAMPTZ,
      revoked_at TIMESTAMPTZ
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.api_keys');
}
