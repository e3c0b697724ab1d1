import { isbot } from 'isbot';

/** A crawler, spider, preview fetcher, monitoring probe or headless browser, by the `isbot` list. */
export const isBotAgent = (userAgent: string): boolean => isbot(userAgent);

/**
 * Which user agent is the visitor's (browser/os/device and the bot check come from it), if any. The rule
 * (README "Bots and server-side senders"):
 * - a `user_agent` field is the visitor's agent, relayed by a server: `isbot` decides (so a relayed Googlebot,
 *   HeadlessChrome or curl visitor is ignored);
 * - otherwise the request's User-Agent header. When it is a browser's (it begins with `Mozilla/`, as every
 *   browser, headless browser and page-rendering crawler — the only agents that run the tracker — sends),
 *   `isbot` decides. Any other header agent (curl/…, python-requests/…, node, Go-http-client/…) is a server-side
 *   sender posting its own events, not a visitor: stored, with no browser/os/device (they would describe the
 *   sender, not a visitor). isbot alone would call every such library a bot, and the seed's curl example
 *   must count.
 */
export function visitorAgent(bodyAgent: string | undefined, headerAgent: string | undefined): string | undefined {
  if (bodyAgent !== undefined) return bodyAgent;
  return headerAgent?.startsWith('Mozilla/') ? headerAgent : undefined;
}
