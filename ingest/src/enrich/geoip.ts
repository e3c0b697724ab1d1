import { readFileSync, statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { Reader, type CountryResponse } from 'maxmind';
import type { Component, Logger } from '@sitestream/shared';

/** The database shipped with ingest (npm @ip-location-db/geo-whois-asn-country-mmdb: data CC BY 4.0, NRO). */
export function defaultCountryDatabase(): string {
  return require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/** A record of either shape: ip-location-db's `country_code`, or MaxMind GeoLite2/GeoIP2's `country.iso_code`. */
interface CountryRecord {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
}

const WATCH_INTERVAL_MS = 2000;
const ISO_ALPHA2 = /^[A-Z]{2}$/;
const RECORD_CACHE_MAX = 10_000;
/** Addresses whose answer is kept; the cache starts over when full (a Map's set and get, no recency list). */
const ADDRESS_CACHE_MAX = 10_000;

/**
 * Country of an address from a MaxMind-format (MMDB) database, read with the `maxmind` reader. Only public
 * unicast addresses are looked up: loopback, private, link-local, CGNAT, documentation and other special
 * ranges are absent whatever the database says (some free databases map 192.168.0.0/16 to a country).
 * The file is watched (stat polling every 2 s, cheap) and a changed file is loaded without a restart; a file
 * that fails to load keeps the previous database in service.
 */
export class CountryLookup implements Component {
  readonly id = 'geoip';
  private reader: Reader<CountryResponse>;
  /**
   * Answers by address string, for the reader in service (emptied when it is replaced): parsing an address and
   * matching it against the special ranges cost more than the lookup (ipaddr.js, 3.1 % of ingest's busy time,
   * BENCHMARKS.md "Ingest hot path"), and a visitor sends several events from one address. null: no country.
   */
  private readonly answers = new Map<string, string | null>();
  private readonly listener: (curr: Stats, prev: Stats) => void;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    this.reader = CountryLookup.load(path);
    this.listener = (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
      if (curr.size === 0) return; // being replaced: the next change brings the new file
      try {
        this.reader = CountryLookup.load(path);
        this.answers.clear();
        this.logger.info({ path }, 'country database reloaded');
      } catch (err) {
        this.logger.warn({ path, err: (err as Error).message }, 'country database changed but could not be loaded; keeping the previous one');
      }
    };
    watchFile(path, { interval: WATCH_INTERVAL_MS, persistent: false }, this.listener);
  }

  private static load(path: string): Reader<CountryResponse> {
    statSync(path);
    // The reader caches decoded records by their offset: a country database has a few hundred of them.
    const decoded = new Map<number, unknown>();
    const cache = {
      get: (key: number) => decoded.get(key),
      set: (key: number, value: unknown) => {
        if (decoded.size >= RECORD_CACHE_MAX) decoded.clear();
        decoded.set(key, value);
      },
    };
    return new Reader<CountryResponse>(readFileSync(path), { cache });
  }

  /** ISO 3166-1 alpha-2, or undefined for a special-purpose or unknown address. */
  country(ip: string): string | undefined {
    const known = this.answers.get(ip);
    if (known !== undefined) return known ?? undefined;
    const answer = this.lookUp(ip);
    if (this.answers.size >= ADDRESS_CACHE_MAX) this.answers.clear();
    this.answers.set(ip, answer ?? null);
    return answer;
  }

  private lookUp(ip: string): string | undefined {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // ipaddr.process turns an IPv4-mapped IPv6 address (::ffff:8.8.8.8, as a dual-stack socket reports IPv4
      // clients) into the IPv4 address.
      address = ipaddr.process(ip);
    } catch {
      return undefined;
    }
    if (address.range() !== 'unicast') return undefined;
    // An IPv4-only database answers IPv6 lookups with nonsense (the reader walks its IPv4 tree): never ask it.
    if (address.kind() === 'ipv6' && this.reader.metadata.ipVersion === 4) return undefined;
    const record = this.reader.get(address.kind() === 'ipv4' ? address.toString() : ip) as CountryRecord | null;
    const code = record?.country_code ?? record?.country?.iso_code ?? record?.registered_country?.iso_code;
    return code && ISO_ALPHA2.test(code) ? code : undefined;
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    unwatchFile(this.path, this.listener);
  }
}
