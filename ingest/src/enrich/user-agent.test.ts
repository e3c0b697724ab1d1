import { parseUserAgent, UserAgentCache } from './user-agent';

/** Normalized names, written out by hand from the README's list (not from ua-parser-js). */
describe('parseUserAgent', () => {
  const cases: [string, string, { browser?: string; os?: string; device?: string }][] = [
    ['Chrome on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', { browser: 'Chrome', os: 'Windows', device: 'Desktop' }],
    ['Chrome on iOS (CriOS)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1', { browser: 'Chrome', os: 'iOS', device: 'Mobile' }],
    ['Mobile Safari on iPad', 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', { browser: 'Safari', os: 'iOS', device: 'Tablet' }],
    ['Safari on a Mac', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15', { browser: 'Safari', os: 'macOS', device: 'Desktop' }],
    ['Firefox on Ubuntu', 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', { browser: 'Firefox', os: 'Linux', device: 'Desktop' }],
    ['Firefox on Fedora', 'Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', { browser: 'Firefox', os: 'Linux', device: 'Desktop' }],
    ['Firefox on Android', 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0', { browser: 'Firefox', os: 'Android', device: 'Mobile' }],
    ['Edge', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70', { browser: 'Edge', os: 'Windows', device: 'Desktop' }],
    ['Opera', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', { browser: 'Opera', os: 'Windows', device: 'Desktop' }],
    ['Samsung Internet', 'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', { browser: 'Samsung Internet', os: 'Android', device: 'Mobile' }],
    ['a Chromebook', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', { browser: 'Chrome', os: 'ChromeOS', device: 'Desktop' }],
    ['an Android tablet', 'Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', { browser: 'Chrome', os: 'Android', device: 'Tablet' }],
    // Other values keep the library's names; unknown is absent.
    ['a smart TV', 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36', { browser: 'Samsung Internet', os: 'Tizen', device: 'smarttv' }],
    ['gibberish', 'nothing we know', {}],
  ];
  it.each(cases)('%s', (_name, agent, expected) => {
    expect(parseUserAgent(agent)).toEqual(expected);
  });

  it('caches parsed agents, evicting the least recently used', () => {
    const cache = new UserAgentCache(2);
    const a = cache.facts(cases[0]![1]);
    expect(cache.facts(cases[0]![1])).toBe(a); // a hit returns the same object
    cache.facts(cases[1]![1]);
    cache.facts(cases[0]![1]); // a is now the most recent
    cache.facts(cases[2]![1]); // evicts cases[1]
    expect(cache.facts(cases[0]![1])).toBe(a);
    expect(cache.facts('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)').bot).toBe(true);
  });
});
