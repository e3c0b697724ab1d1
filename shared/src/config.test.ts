import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configDocs, loadConfig } from './config';
import { ConfigError } from './errors';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.INGEST_PORT).toBe(8000);
    expect(config.REPORTING_PORT).toBe(8001);
    expect(config.CONSUMER_PORT).toBe(8002);
    expect(config.KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(config.KAFKA_TOPIC).toBe('website-events');
    expect(config.KAFKA_CONSUMER_GROUP).toBe('sitestream-writer');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ INGEST_PORT: 'eighty', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const key of ['INGEST_PORT', 'DATABASE_URL', 'LOG_LEVEL']) expect(message).toContain(key);
  });

  it('is documented: every variable has a row in the README configuration table', () => {
    const readme = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    const missing = configDocs().filter((d) => !readme.includes(`| \`${d.name}\` |`));
    expect(missing.map((d) => d.name)).toEqual([]);
  });
});
