/**
 * The API key lives in this tab's sessionStorage only: never in the URL, a cookie or a log, gone when the tab
 * closes. Sign-out and any 401 remove it.
 */
const KEY = 'sitestream.api_key';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string): void => sessionStorage.setItem(KEY, key),
  clear: (): void => sessionStorage.removeItem(KEY),
};
