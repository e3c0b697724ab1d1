/** What ingest answered: status, headers, the raw text and the JSON it holds (if any). */
export interface Sent {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/**
 * POSTs raw bytes exactly as given (a Buffer is never re-encoded, so invalid UTF-8 arrives as sent).
 * A header set to '' is left out, e.g. to send no Content-Type at all.
 */
export async function send(url: string, body: Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Sent> {
  const res = await fetch(url, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== '')),
    body,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** The seed's example event (its timestamp is a year in the past, and must stay valid), with overrides. */
export function validEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    site_id: 'site-abc-123',
    event_type: 'page_view',
    path: '/pricing',
    user_id: 'user-xyz-789',
    timestamp: '2025-11-16T10:00:00Z',
    ...overrides,
  };
}
