import { isIP } from 'node:net';
import type Ajv from 'ajv';

/**
 * The context an event may carry (issue 12): what a client sends about where the visit came from, and what
 * ingest derives from it. The limits live here once; the JSON schemas below, the OpenAPI document (which
 * embeds these schemas), the consumer's message check and the columns of migration 005 all use them.
 */
export const CONTEXT_LIMITS = {
  referrer: 2048,
  hostname: 253,
  utm: 255,
  propsKeys: 30,
  propKey: 300,
  propValue: 2000,
  user_agent: 1024,
  /** The longest IPv6 literal (an IPv4-mapped one written in full) is 45 characters. */
  ip: 45,
  /** Derived names (browser, os, device) are short library names; longer ones are clipped. */
  derivedName: 100,
  country: 2,
} as const;

export const UTM_FIELDS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;
export type UtmField = (typeof UTM_FIELDS)[number];

/** Keys that would reach an object's prototype in careless code downstream: never accepted as property names. */
export const FORBIDDEN_PROP_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

export type PropValue = string | number | boolean;
export type Props = Record<string, PropValue>;

/** Context fields a client may send with an event (all optional). */
export interface EventContextInput {
  referrer?: string;
  hostname?: string;
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_term?: string;
  utm_content?: string;
  props?: Props;
  /** The visitor's user agent, for server-side senders; overrides the request's User-Agent header. */
  user_agent?: string;
  /** The visitor's address, for server-side senders; overrides the request's client address. */
  ip?: string;
}

/** What ingest derives and puts on Kafka: never the raw IP or user agent. Absent means unknown / none. */
export interface EventContext {
  hostname?: string;
  /** scheme://host/path of the referrer: its query string and fragment are dropped. */
  referrer?: string;
  source?: string;
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_term?: string;
  utm_content?: string;
  browser?: string;
  os?: string;
  device?: string;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  props?: Props;
}

// Lower-case LDH labels (and `_`, which real hostnames carry), dot-separated, an optional trailing dot.
const DNS_NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$/;

export function isDnsName(s: string): boolean {
  return s.length <= CONTEXT_LIMITS.hostname && DNS_NAME.test(s);
}

/** An absolute http(s) URL as the WHATWG parser reads it (what browsers put in document.referrer). */
export function isHttpUrl(s: string): boolean {
  if (s === '') return true; // "" is "no referrer", as document.referrer says it
  let url: URL;
  try {
    url = new URL(s); // one parse (URL.canParse + new URL would be two); URL.parse needs Node 20.18
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

/** An IPv4 or IPv6 literal; zone ids ("fe80::1%eth0") are local to a machine and refused. */
export function isIpLiteral(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%');
}

/** The formats the context schemas use; every Ajv that compiles them (services, tests) registers these. */
export function addContextFormats(ajv: Ajv): void {
  ajv.addFormat('http-url', { type: 'string', validate: isHttpUrl });
  ajv.addFormat('dns-name', { type: 'string', validate: isDnsName });
  ajv.addFormat('ip', { type: 'string', validate: isIpLiteral });
}

const utm = { type: 'string', minLength: 1, maxLength: CONTEXT_LIMITS.utm, format: 'safe-text' } as const;
const propsSchema = {
  type: 'object',
  maxProperties: CONTEXT_LIMITS.propsKeys,
  propertyNames: {
    type: 'string',
    minLength: 1,
    maxLength: CONTEXT_LIMITS.propKey,
    format: 'safe-text',
    not: { enum: FORBIDDEN_PROP_KEYS },
  },
  // ajv's number type is finite by itself (1e400 parses to Infinity and is refused).
  additionalProperties: { type: ['string', 'number', 'boolean'], maxLength: CONTEXT_LIMITS.propValue, format: 'safe-text' },
  description: `custom properties: at most ${CONTEXT_LIMITS.propsKeys} keys of 1–${CONTEXT_LIMITS.propKey} characters; values a string of at most ${CONTEXT_LIMITS.propValue} characters, a finite number or a boolean`,
} as const;

/** JSON-schema properties of the context a client may send (merged into the event input schema). */
export const contextInputProperties = {
  // Two formats: the URL parser silently drops tabs and newlines, so the text rules are checked on their own.
  referrer: {
    type: 'string',
    maxLength: CONTEXT_LIMITS.referrer,
    format: 'safe-text',
    allOf: [{ format: 'http-url' }],
    description: 'absolute http(s) URL of the referring page; "" = none',
  },
  hostname: { type: 'string', minLength: 1, maxLength: CONTEXT_LIMITS.hostname, format: 'dns-name', description: "the page's host, a lower-case DNS name" },
  utm_source: utm,
  utm_medium: utm,
  utm_campaign: utm,
  utm_term: utm,
  utm_content: utm,
  props: propsSchema,
  user_agent: { type: 'string', minLength: 1, maxLength: CONTEXT_LIMITS.user_agent, format: 'safe-text', description: "the visitor's User-Agent, for server-side senders (overrides the request header); never stored" },
  ip: { type: 'string', maxLength: CONTEXT_LIMITS.ip, format: 'ip', description: "the visitor's IPv4 or IPv6 address, for server-side senders (overrides the client address); never stored" },
} as const;

const derived = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, format: 'safe-text' }) as const;

/** JSON-schema properties of the derived context on a Kafka message. No `ip`, no `user_agent`: a message with them is refused. */
export const contextMessageProperties = {
  hostname: contextInputProperties.hostname,
  referrer: { type: 'string', minLength: 1, maxLength: CONTEXT_LIMITS.referrer, format: 'safe-text', allOf: [{ format: 'http-url' }] },
  source: derived(CONTEXT_LIMITS.utm),
  utm_source: utm,
  utm_medium: utm,
  utm_campaign: utm,
  utm_term: utm,
  utm_content: utm,
  browser: derived(CONTEXT_LIMITS.derivedName),
  os: derived(CONTEXT_LIMITS.derivedName),
  device: derived(CONTEXT_LIMITS.derivedName),
  country: { type: 'string', pattern: '^[A-Z]{2}$' },
  props: propsSchema,
} as const;

/** Error texts for the formats above (the event schema's message table uses them). */
export const CONTEXT_FORMAT_MESSAGES: Record<string, string> = {
  'http-url': 'must be an absolute http or https URL (or "" for none)',
  'dns-name': 'must be a lower-case DNS name of at most 253 characters',
  ip: 'must be an IPv4 or IPv6 address',
};
