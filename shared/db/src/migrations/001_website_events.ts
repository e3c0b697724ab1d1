import type { Knex } from 'knex';

/**
 * The seed's table (six columns, names and types kept) plus what exactly-once needs: the event id that
 * makes retries idempotent, where the row came from in Kafka, and when ingest received it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SCHEMA IF NOT EXISTS analytics');
  await knex.raw(`
    CREATE TABLE analytics.website_events (
      id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      site_id       VARCHAR(255)  NOT NULL,
      event_type    VARCHAR(50)   NOT NULL,
      path          VARCHAR(2048) NOT NULL,
      user_id       VARCHAR(255)  NOT NULL,
      "timestamp"   TIMESTAMPTZ   NOT NULL,
      event_id      UUID          NOT NULL,
      received_at   TIMESTAMPTZ   NOT NULL,
      stored_at     TIMESTAMPTZ   NOT NULL DEFAULT now(),
      kafka_partition INTEGER     NOT NULL,
      kafka_offset  BIGINT        NOT NULL,
      CONSTRAINT website_events_site_event_uq UNIQUE (site_id, event_id)
    )`);
  await knex.raw('CREATE INDEX website_events_site_ts_idx ON analytics.website_events (site_id, "timestamp")');

  // The consumer's position per partition, advanced in the same transaction as the rows it wrote.
  await knex.raw(`
    CREATE TABLE analytics.consumer_offsets (
      consumer_group TEXT    NOT NULL,
      topic          TEXT    NOT NULL,
      "partition"    INTEGER NOT NULL,
      next_offset    BIGINT  NOT NULL,
      updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer_group, topic, "partition")
    )`);

  // Records that can never be stored, kept with why, in the same transaction that moves past them.
  await knex.raw(`
    CREATE TABLE analytics.dead_letters (
      id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      topic       TEXT    NOT NULL,
      "partition" INTEGER NOT NULL,
      "offset"    BIGINT  NOT NULL,
      reason      TEXT    NOT NULL,
      error       TEXT    NOT NULL,
      payload     BYTEA,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      CONSTRAINT dead_letters_position_uq UNIQUE (topic, "partition", "offset")
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS analytics.dead_letters');
  await knex.raw('DROP TABLE IF EXISTS analytics.consumer_offsets');
  await knex.raw('DROP TABLE IF EXISTS analytics.website_events');
}
