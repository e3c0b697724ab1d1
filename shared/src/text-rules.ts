/**
 * Text rules shared by every string an event carries. Strings are stored in Unicode NFC, so the NFC and NFD
 * spellings of a path (or a user id) are one value, not two. Ids (site_id, user_id, event_type) must also be
 * visible: not blank after trimming, and without bidi controls or zero-width characters, which make two ids that
 * look alike differ (or reorder what a log or dashboard shows).
 */

// C0 and C1 control characters and DEL: PostgreSQL refuses NUL outright, and the others are never
// legitimate in ids or paths (they break logs, CSV exports and terminals).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidi embeddings, overrides and isolates, the LRM/RLM/ALM marks; zero-width space, joiners, word joiner, BOM.
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

export function isSafeText(s: string): boolean {
  return s.isWellFormed() && !CONTROL.test(s);
}

export function isVisibleId(s: string): boolean {
  return isSafeText(s) && s.trim() !== '' && !INVISIBLE.test(s);
}

/** NFC for well-formed strings (a lone surrogate is left for validation to refuse); anything else as it is. */
export function toNfc<T>(value: T): T {
  return (typeof value === 'string' && value.isWellFormed() ? value.normalize('NFC') : value) as T;
}
