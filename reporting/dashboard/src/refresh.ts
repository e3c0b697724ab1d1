import { ApiError, isAbort, type ApiClient, type QueryAnswer } from './api';
import { h } from './dom';
import type { ViewState } from './view-state';

/**
 * One load of the dashboard for one state: every widget's queries share its signal (a newer state aborts them)
 * and the overview answer (KPIs), whose resolved dates the chart's comparison and the property keys need.
 */
export interface Refresh {
  state: ViewState;
  site: string;
  client: ApiClient;
  signal: AbortSignal;
  overview: Promise<QueryAnswer>;
}

/** An API failure as the reader sees it: shown, never swallowed; an aborted (outdated) load shows nothing. */
export function errorNotice(err: unknown, retry?: () => void): HTMLElement | null {
  if (isAbort(err)) return null;
  const text = err instanceof ApiError ? `${err.code === 'NETWORK' ? '' : `${err.status} ${err.code}: `}${err.message}` : String(err);
  return h('div', { class: 'error', role: 'alert' },
    h('span', {}, `Could not load: ${text}`),
    retry ? h('button', { type: 'button', class: 'link', onclick: retry }, 'Retry') : null);
}
