import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from './connection';
import { prepared } from './reporting-session';

/**
 * API keys: `ss_live_` + 32 base64url characters (192 random bits). The first 8 of those, with the marker, form
 * the key's public prefix: it names the key in `keys list` and finds its row. Only a SHA-256 of the whole key is
 * stored; with 192 bits of entropy a slow password hash would add nothing.
 */
export const KEY_MARKER = 'ss_live_';
const PUBLIC_CHARS = 8;
const PREFIX_LENGTH = KEY_MARKER.length + PUBLIC_CHARS;
const KEY_PATTERN = /^ss_live_[A-Za-z0-9_-]{32}$/;

export interface ApiKey {
  id: number;
  prefix: string;
  name: string;
  /** null: every site. */
  siteIds: string[] | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export type KeyCheck = { ok: true; key: ApiKey } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

interface KeyRow {
  id: number;
  key_prefix: string;
  key_hash: Buffer;
  name: string;
  site_ids: string[] | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  expired: boolean;
}

const COLUMNS = `id, key_prefix, key_hash, name, site_ids, created_at, expires_at, revoked_at,
  (expires_at IS NOT NULL AND expires_at <= now()) AS expired`;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function toApiKey(row: KeyRow): ApiKey {
  return {
    id: Number(row.id),
    prefix: row.key_prefix,
    name: row.name,
    siteIds: row.site_ids,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export interface NewKeyOptions {
  name?: string;
  /** null or absent: every site. */
  siteIds?: string[] | null;
  expiresAt?: Date | null;
}

/** Creates a key and returns it in clear: the only time it exists outside the client that keeps it. */
export async function createApiKey(db: Knex, options: NewKeyOptions = {}): Promise<{ key: string; record: ApiKey }> {
  const siteIds = options.siteIds && options.siteIds.length > 0 ? [...new Set(options.siteIds)] : null;
  for (;;) {
    const key = KEY_MARKER + randomBytes(24).toString('base64url');
    try {
      const inserted = await db.raw<{ rows: KeyRow[] }>(
        `INSERT INTO analytics.api_keys (key_prefix, key_hash, name, site_ids, expires_at)
         VALUES (?, ?, ?, ?::text[], ?) RETURNING ${COLUMNS}`,
        [key.slice(0, PREFIX_LENGTH), sha256(key), options.name ?? '', siteIds, options.expiresAt ?? null],
      );
      return { key, record: toApiKey(inserted.rows[0]!) };
    } catch (err) {
      // Two keys sharing their first 48 random bits: draw again.
      if ((err as { constraint?: string }).constraint !== 'api_keys_prefix_uq') throw err;
    }
  }
}

export async function listApiKeys(db: Knex): Promise<ApiKey[]> {
  const result = await db.raw<{ rows: KeyRow[] }>(`SELECT ${COLUMNS} FROM analytics.api_keys ORDER BY created_at, id`);
  return result.rows.map(toApiKey);
}

/**
 * Revokes the key named by its public prefix (as `keys list` shows it, e.g. `ss_live_AbCd1234`); the whole key
 * works too. Returns the key, or undefined when none has that prefix. Revoking twice keeps the first time.
 */
export async function revokeApiKey(db: Knex, text: string): Promise<ApiKey | undefined> {
  if (text.length < PREFIX_LENGTH) return undefined;
  const result = await db.raw<{ rows: KeyRow[] }>(
    `UPDATE analytics.api_keys SET revoked_at = coalesce(revoked_at, now())
     WHERE key_prefix = ? RETURNING ${COLUMNS}`,
    [text.slice(0, PREFIX_LENGTH)],
  );
  return result.rows[0] ? toApiKey(result.rows[0]) : undefined;
}

/** Revokes every active key with this name (npm start replaces its development key on each start). */
export async function revokeApiKeysNamed(db: Knex, name: string): Promise<number> {
  const result = await db.raw<{ rowCount: number }>(
    'UPDATE analytics.api_keys SET revoked_at = now() WHERE name = ? AND revoked_at IS NULL',
    [name],
  );
  return result.rowCount;
}

// Compared against when no row matched, so an unknown prefix costs the same work as a wrong secret.
const NO_HASH = sha256('no such key');

/** Checks a presented key: found by its prefix, then its hash compared in constant time. */
export async function checkApiKey(db: Knex, presented: string): Promise<KeyCheck> {
  if (!KEY_PATTERN.test(presented)) return { ok: false, reason: 'malformed' };
  const [row] = await prepared<KeyRow>(db, 'api_key_by_prefix', `SELECT ${COLUMNS} FROM analytics.api_keys WHERE key_prefix = $1`, [presented.slice(0, PREFIX_LENGTH)]);
  const matches = timingSafeEqual(sha256(presented), row ? row.key_hash : NO_HASH);
  if (!row || !matches) return { ok: false, reason: 'unknown' };
  if (row.revoked_at) return { ok: false, reason: 'revoked' };
  if (row.expired) return { ok: false, reason: 'expired' };
  return { ok: true, key: toApiKey(row) };
}

/** Whether the key may read this site. A site outside the scope is answered as not found, never as forbidden. */
export function keyCovers(key: ApiKey, siteId: string): boolean {
  return key.siteIds === null || key.siteIds.includes(siteId);
}
