import { createHmac } from 'node:crypto';
import type { Clock } from '@paysync/contracts';
import type { Notice } from '../notice.ts';
import type { Locale } from '../routes.ts';
import { renderMarkdown } from '../templates/render.ts';
import { checkErrcode, postJson, safeHost } from './http.ts';
import type { Channel } from './types.ts';

/**
 * DingTalk's robot signature (加签): base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)),
 * with the timestamp in milliseconds. It travels URL-encoded in the `sign` query parameter.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** The robot URL with `timestamp` and `sign` added (when a secret is configured). */
export function signedDingtalkUrl(url: string, secret: string | undefined, nowMs: number): string {
  if (!secret) return url;
  const u = new URL(url);
  u.searchParams.set('timestamp', String(nowMs));
  u.searchParams.set('sign', dingtalkSign(secret, nowMs));
  return u.toString();
}

/** DingTalk's limit is about 20,000 bytes per markdown message; stay under it. */
export const DINGTALK_MAX_BYTES = 18_000;

export function createDingtalkChannel(opts: {
  name: string;
  url: string;
  secret?: string | undefined;
  atMobiles: readonly string[];
  locale: Locale;
  clock?: Clock;
}): Channel {
  const clock = opts.clock ?? Date.now;
  return {
    name: opts.name,
    kind: 'dingtalk',
    target: `dingtalk ${safeHost(opts.url)}`,
    async send(notices: readonly Notice[], signal: AbortSignal) {
      const { title, text } = renderMarkdown(notices, {
        locale: opts.locale,
        style: { lineBreak: '\n\n' },
        maxBytes: DINGTALK_MAX_BYTES,
      });
      const mention = notices.some((n) => n.severity === 'critical' && n.status === 'firing')
        ? opts.atMobiles
        : [];
      const body = JSON.stringify({
        msgtype: 'markdown',
        markdown: {
          title,
          text: mention.length > 0 ? `${text}\n\n${mention.map((m) => `@${m}`).join(' ')}` : text,
        },
        at: { atMobiles: mention, isAtAll: false },
      });
      const answer = await postJson(opts.name, signedDingtalkUrl(opts.url, opts.secret, clock()), body, {
        signal,
      });
      checkErrcode(opts.name, 'DINGTALK', answer);
    },
    close: async () => {},
  };
}
