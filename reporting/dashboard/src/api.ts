/**
 * The dashboard's only way to the server: the public API with `Authorization: Bearer <key>`, same origin.
 * Requests queue so that no more than the key's allowance (REPORTING_KEY_MAX_CONCURRENT, told by /api/v2/sites)
 * are in flight; a 429 or BUSY is waited out as Retry-After says; a 401 ends the session.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export type Filter = [op: string, dimension: string, values: string[]];
export interface QueryBody {
  site_id: string;
  metrics: string[];
  date_range: string | [string, string];
  dimensions?: string[];
  filters?: Filter[];
  pagination?: { limit: number; offset: number };
  include?: { total_rows?: boolean; comparison?: 'previous_period' };
}
export interface ResultRow {
  dimensions: string[];
  metrics: (number | null)[];
  comparison?: { metrics: (number | null)[]; change: (number | null)[] };
}
export interface QueryAnswer {
  results: ResultRow[];
  meta: { time_zone: string; data_as_of: string | null; total_rows?: number; comparison_date_range?: [string, string] };
  query: { date_range: [string, string] };
}
export interface SiteList {
  sites: { site_id: string; time_zone: string }[];
  total: number;
  limits: { concurrent_requests: number };
}

const RETRIES = 3;
const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError';
export { isAbort };

export class ApiClient {
  private running = 0;
  private refused = false;
  private readonly waiting: (() => void)[] = [];
  concurrency = 2;

  constructor(private readonly key: string, private readonly onUnauthorized: () => void) {}

  sites(signal?: AbortSignal): Promise<SiteList> {
    return this.request<SiteList>('GET', '/api/v2/sites', undefined, signal);
  }
  query(body: QueryBody, signal?: AbortSignal): Promise<QueryAnswer> {
    return this.request<QueryAnswer>('POST', '/api/v2/query', body, signal);
  }
  realtime(siteId: string, signal?: AbortSignal): Promise<{ visitors: number; data_as_of: string | null }> {
    return this.request('GET', `/api/v2/realtime?site_id=${encodeURIComponent(siteId)}`, undefined, signal);
  }
  propertyKeys(siteId: string, range: [string, string], signal?: AbortSignal): Promise<{ keys: string[] }> {
    const q = new URLSearchParams({ site_id: siteId, from: range[0], to: range[1] });
    return this.request('GET', `/api/v2/props?${q}`, undefined, signal);
  }

  private async request<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    await this.slot(signal);
    try {
      for (let attempt = 1; ; attempt++) {
        const res = await this.send(method, path, body, signal);
        const retryAfter = Number(res.headers.get('retry-after'));
        if ((res.status === 429 || res.status === 503) && retryAfter > 0 && attempt < RETRIES) {
          await sleep(retryAfter * 1000, signal);
          continue;
        }
        const text = await res.text();
        const parsed = parse(text);
        if (res.ok) return parsed as T;
        if (res.status === 401 && !this.refused) {
          this.refused = true;
          this.onUnauthorized();
        }
        const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? (text.slice(0, 200) || res.statusText));
      }
    } finally {
      this.release();
    }
  }

  private async send(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(path, {
        method,
        signal,
        headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        // The key travels in the header only; nothing is cached or sent with cookies.
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError(0, 'NETWORK', 'reporting could not be reached');
    }
  }

  private slot(signal?: AbortSignal): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', cancel);
        this.running++;
        resolve();
      };
      const cancel = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new DOMException('aborted', 'AbortError'));
      };
      signal?.addEventListener('abort', cancel, { once: true });
      this.waiting.push(go);
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(new DOMException('aborted', 'AbortError'))), { once: true });
  });
}
