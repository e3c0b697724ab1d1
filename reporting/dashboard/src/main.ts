import './styles.css';
import { ApiClient } from './api';
import { Dashboard } from './dashboard';
import { session } from './session';
import { showSignIn } from './sign-in';
import type { SiteList } from './api';

/** The page's composition root: signed in (a key in this tab's session) or not. */
const root = document.getElementById('app')!;
let dashboard: Dashboard | undefined;

function signIn(notice: string | null): void {
  dashboard?.stop();
  dashboard = undefined;
  session.clear();
  document.title = 'Sign in · Sitestream';
  showSignIn(root, notice, (key, sites) => {
    session.save(key);
    open(key, sites);
  });
}

function clientFor(key: string): ApiClient {
  // Any 401 (the key was revoked or expired meanwhile) ends the session: back to sign-in, saying why.
  return new ApiClient(key, () => signIn('The server no longer accepts this key (revoked or expired): sign in again.'));
}

function open(key: string, sites: SiteList): void {
  document.title = 'Dashboard · Sitestream';
  dashboard = new Dashboard(root, clientFor(key), sites, () => signIn(null));
  dashboard.start();
}

const key = session.key();
if (!key) {
  signIn(null);
} else {
  root.textContent = 'Loading…';
  clientFor(key).sites().then((sites) => open(key, sites), (err: unknown) => {
    if (!(err instanceof Error && 'status' in err && err.status === 401)) signIn(`Could not reach the API: ${err instanceof Error ? err.message : String(err)}`);
  });
}
