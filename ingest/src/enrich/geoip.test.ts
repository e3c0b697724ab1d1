import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { createLogger } from '@sitestream/shared';
import { waitFor } from '../../../tests/helpers/wait-for';
import { CountryLookup, defaultCountryDatabase } from './geoip';

const logged: string[] = [];
const logger = createLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false }, 'test', { write: (line: string) => logged.push(line) });
const shipped = (variant: 'ipv4' | 'ipv6') => defaultCountryDatabase().replace(/\.mmdb$/, `-${variant}.mmdb`);

/** The country lookup on the databases the npm package ships (real files, real file watching). */
describe('CountryLookup', () => {
  let dir: string;
  const open: CountryLookup[] = [];
  const lookup = (path: string) => {
    const l = new CountryLookup(path, logger);
    open.push(l);
    return l;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sitestream-geoip-'));
  });
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the country of public addresses, IPv4-mapped ones too, and nothing for special-purpose ones', () => {
    const l = lookup(defaultCountryDatabase());
    expect(['8.8.8.8', '::ffff:8.8.8.8', '81.2.69.142', '2001:4860:4860::8888'].map((ip) => l.country(ip))).toEqual(['US', 'US', 'GB', 'US']);
    // 192.168.1.1 is AU in this data set; 100.64/10 is carrier-grade NAT; 2001:db8::/32 is documentation.
    const special = ['127.0.0.1', '::1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '169.254.1.1', 'fe80::1', 'fc00::1', '2001:db8::1', '0.0.0.0', '224.0.0.1'];
    expect(special.map((ip) => l.country(ip))).toEqual(special.map(() => undefined));
    expect(l.country('not an address')).toBeUndefined();
  });

  it('parses an address once and answers it again from what it found, special, public or not an address', () => {
    const l = lookup(defaultCountryDatabase());
    const addresses = ['81.2.69.142', '127.0.0.1', '::ffff:8.8.8.8', '2001:db8::1', 'not an address'];
    const expected = ['GB', undefined, 'US', undefined, undefined];
    const parse = jest.spyOn(ipaddr, 'process');
    try {
      for (let round = 0; round < 3; round++) expect(addresses.map((ip) => l.country(ip))).toEqual(expected);
      expect(parse).toHaveBeenCalledTimes(addresses.length);
    } finally {
      parse.mockRestore();
    }
  });

  it('never asks an IPv4-only database about an IPv6 address (it would answer a wrong country)', () => {
    const l = lookup(shipped('ipv4'));
    expect(l.country('8.8.8.8')).toBe('US');
    expect(l.country('2a01:4f8::1')).toBeUndefined();
  });

  it('loads a changed file without a restart, and keeps the old one when the new one is broken', async () => {
    const path = join(dir, 'country.mmdb');
    copyFileSync(shipped('ipv6'), path);
    const l = lookup(path);
    expect([l.country('8.8.8.8'), l.country('2a01:4f8::1')]).toEqual([undefined, 'DE']);

    // Replaced the way a download job should: written beside, then renamed over.
    copyFileSync(defaultCountryDatabase(), `${path}.tmp`);
    renameSync(`${path}.tmp`, path);
    await waitFor(() => l.country('8.8.8.8') === 'US', { what: 'the new database in service', timeoutMs: 20_000 });

    writeFileSync(path, 'not an mmdb file');
    await waitFor(() => logged.some((line) => line.includes('could not be loaded')), { what: 'the broken file noticed', timeoutMs: 20_000 });
    expect([l.country('8.8.8.8'), l.country('2a01:4f8::1')]).toEqual(['US', 'DE']);
  }, 40_000);
});
