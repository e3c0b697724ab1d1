import { ApiClient, ApiError, type SiteList } from './api';
import { fill, h } from './dom';

/**
 * The sign-in view: the key is checked against GET /api/v2/sites before it is kept. The form never submits
 * (CSP form-action 'none' as well): the key goes nowhere but into the Authorization header.
 */
export function showSignIn(root: HTMLElement, notice: string | null, onSignedIn: (key: string, sites: SiteList) => void): void {
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'ss_live_…' });
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'sign-in', method: 'post', 'aria-describedby': 'sign-in-help' },
    h('h1', {}, 'Sitestream'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { id: 'sign-in-help', class: 'muted' }, 'The key is kept in this tab only and is sent to this server alone. npm start prints a development key; others come from npm run admin -- keys create.'),
    button,
    error,
  );
  if (notice) error.textContent = notice;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    error.textContent = '';
    const client = new ApiClient(key, () => undefined);
    client.sites().then(
      (sites) => onSignedIn(key, sites),
      (err: unknown) => {
        button.disabled = false;
        error.textContent = err instanceof ApiError && err.status === 401
          ? 'This key was not accepted: it is unknown, revoked or expired.'
          : `Could not sign in: ${err instanceof Error ? err.message : String(err)}`;
        input.focus();
      },
    );
  });
  fill(root, h('main', { class: 'sign-in-page' }, form));
  input.focus();
}
