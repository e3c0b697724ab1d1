import { deriveSource, storedReferrer } from './source';

const url = (s: string) => (s ? new URL(s) : undefined);

describe('source and stored referrer', () => {
  // [utm_source, referrer, hostname, expected source]
  const cases: [string | undefined, string, string | undefined, string | undefined][] = [
    ['newsletter', 'https://www.google.com/', 'shop.example', 'newsletter'],
    ['Mixed Case Stays', '', undefined, 'Mixed Case Stays'],
    [undefined, 'https://WWW.Google.COM/search?q=1', 'shop.example', 'google.com'],
    [undefined, 'https://shop.example/cart', 'shop.example', undefined],
    [undefined, 'https://www.shop.example/cart', 'shop.example', 'shop.example'],
    [undefined, 'https://www.shop.example/cart', 'www.shop.example', undefined],
    [undefined, 'https://blog.shop.example/', 'shop.example', 'blog.shop.example'],
    [undefined, 'https://shop.example:8443/', 'shop.example', undefined],
    [undefined, 'https://shop.example/', undefined, 'shop.example'],
    [undefined, 'http://www./', undefined, undefined],
    [undefined, 'https://wwwx.example/', undefined, 'wwwx.example'],
    [undefined, '', 'shop.example', undefined],
  ];
  it.each(cases)('utm_source %p, referrer %p, hostname %p → %p', (utm, referrer, hostname, expected) => {
    expect(deriveSource(utm, url(referrer), hostname)).toBe(expected);
  });

  it('stores scheme://host/path only', () => {
    expect(storedReferrer(url('https://user:pw@Example.com:8080/a/b?token=1#frag'))).toBe('https://example.com:8080/a/b');
    expect(storedReferrer(url('https://example.com'))).toBe('https://example.com/');
    expect(storedReferrer(undefined)).toBeUndefined();
    // Percent-encoding can grow a path past the column: clipped to 2048 code points.
    expect([...storedReferrer(url(`https://e.com/${'é'.repeat(2000)}`))!].length).toBe(2048);
  });
});
