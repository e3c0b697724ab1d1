import UAParser from 'ua-parser-js';
import { CONTEXT_LIMITS } from '@sitestream/shared';
import { isBotAgent } from './bots';

export interface Device {
  browser?: string;
  os?: string;
  device?: string;
}

// ua-parser-js 1.x names (MIT; its 2.x line is AGPL) mapped to names that read the same whatever the library.
const BROWSERS: Record<string, string> = {
  Chrome: 'Chrome',
  'Chrome WebView': 'Chrome',
  'Mobile Chrome': 'Chrome',
  Safari: 'Safari',
  'Mobile Safari': 'Safari',
  Firefox: 'Firefox',
  'Mobile Firefox': 'Firefox',
  Edge: 'Edge',
  Opera: 'Opera',
  'Opera Mobi': 'Opera',
  'Opera Mini': 'Opera',
  'Opera Touch': 'Opera',
  'Opera GX': 'Opera',
  'Samsung Browser': 'Samsung Internet',
  'Samsung Internet': 'Samsung Internet',
};
const OSES: Record<string, string> = {
  Windows: 'Windows',
  'Mac OS': 'macOS',
  macOS: 'macOS',
  iOS: 'iOS',
  iPadOS: 'iOS',
  Android: 'Android',
  'Chromium OS': 'ChromeOS',
  'Chrome OS': 'ChromeOS',
};
// Every distribution ua-parser-js 1.x names reads as Linux.
const LINUXES = new Set([
  'Linux', 'Ubuntu', 'Kubuntu', 'Xubuntu', 'Lubuntu', 'Debian', 'Fedora', 'Arch', 'Mint', 'Gentoo', 'CentOS', 'RedHat',
  'Red Hat', 'SUSE', 'openSUSE', 'Mandriva', 'Slackware', 'Zenwalk', 'Deepin', 'elementary OS', 'Manjaro', 'PCLinuxOS',
  'Mageia', 'Sabayon', 'Knoppix', 'Linpus', 'VectorLinux', 'Raspbian',
]);
const DESKTOP_OSES = new Set(['Windows', 'macOS', 'Linux', 'ChromeOS']);
const DEVICES: Record<string, string> = { mobile: 'Mobile', tablet: 'Tablet' };

const clip = (name: string | undefined) => (name ? name.slice(0, CONTEXT_LIMITS.derivedName) : undefined);

/** Parses a user agent into browser / os / device, normalized as the README says. */
export function parseUserAgent(userAgent: string): Device {
  const { browser, os, device } = new UAParser(userAgent).getResult();
  const osName = os.name ? (OSES[os.name] ?? (LINUXES.has(os.name) ? 'Linux' : os.name)) : undefined;
  // ua-parser-js leaves desktops without a device type; a desktop operating system says what it is.
  const deviceType = device.type ? (DEVICES[device.type] ?? device.type) : osName && DESKTOP_OSES.has(osName) ? 'Desktop' : undefined;
  const result: Device = {};
  const b = clip(browser.name ? (BROWSERS[browser.name] ?? browser.name) : undefined);
  const o = clip(osName);
  const d = clip(deviceType);
  if (b) result.browser = b;
  if (o) result.os = o;
  if (d) result.device = d;
  return result;
}

/**
 * Parsing costs tens of microseconds; a site's visitors share few distinct agents, so parsed agents are kept
 * in a bounded LRU (a Map in use order). The agent string lives only here, in ingest's memory, as the key.
 */
export interface AgentFacts {
  bot: boolean;
  device: Device;
}

export class UserAgentCache {
  private readonly cache = new Map<string, AgentFacts>();

  constructor(private readonly max = 10_000) {}

  /** Whether the agent is a bot's (the isbot pattern is a large regex: cached too), and what it runs on. */
  facts(userAgent: string): AgentFacts {
    const hit = this.cache.get(userAgent);
    if (hit !== undefined) {
      // Least recently used first: a hit moves to the back of the Map's insertion order.
      this.cache.delete(userAgent);
      this.cache.set(userAgent, hit);
      return hit;
    }
    const facts = { bot: isBotAgent(userAgent), device: parseUserAgent(userAgent) };
    if (this.cache.size >= this.max) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userAgent, facts);
    return facts;
  }
}
