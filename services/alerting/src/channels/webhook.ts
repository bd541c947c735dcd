import { createHmac } from 'node:crypto';
import type { Clock } from '@paysync/contracts';
import type { Notice } from '../notice.ts';
import { postJson, safeHost } from './http.ts';
import type { Channel } from './types.ts';

/** HMAC-SHA256 over `timestamp.body`, hex: what X-Paysync-Signature carries after `sha256=`. */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/**
 * A generic JSON webhook: `{version: "1", channel, notices: [...]}` (the notices as stored), for
 * ticketing or paging systems. 2xx is success.
 */
export function createWebhookChannel(opts: {
  name: string;
  url: string;
  headers: Record<string, string>;
  signingSecret?: string | undefined;
  clock?: Clock;
}): Channel {
  const clock = opts.clock ?? Date.now;
  return {
    name: opts.name,
    kind: 'webhook',
    target: `webhook ${safeHost(opts.url)}`,
    async send(notices: readonly Notice[], signal: AbortSignal) {
      const body = JSON.stringify({ version: '1', channel: opts.name, notices });
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.signingSecret) {
        const ts = Math.floor(clock() / 1000);
        headers['x-paysync-timestamp'] = String(ts);
        headers['x-paysync-signature'] = `sha256=${webhookSignature(opts.signingSecret, ts, body)}`;
      }
      await postJson(opts.name, opts.url, body, { signal, headers });
    },
    close: async () => {},
  };
}
