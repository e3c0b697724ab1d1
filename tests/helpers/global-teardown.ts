export default async function globalTeardown(): Promise<void> {
  await globalThis.__SITESTREAM_TEST_ENV__?.stop();
}
