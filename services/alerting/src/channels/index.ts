import type { Clock } from '@paysync/contracts';
import type { ChannelConfig, Locale, RoutesFile } from '../routes.ts';
import { createDingtalkChannel } from './dingtalk.ts';
import { createEmailChannel } from './email.ts';
import type { Channel } from './types.ts';
import { createWebhookChannel } from './webhook.ts';
import { createWecomChannel } from './wecom.ts';

/** Default messages per minute: DingTalk and WeCom robots are limited to 20 a minute. */
export const DEFAULT_RATE_PER_MINUTE: Record<ChannelConfig['type'], number> = {
  email: 60,
  dingtalk: 20,
  wecom: 20,
  webhook: 120,
};

export function buildChannel(
  name: string,
  config: ChannelConfig,
  locale: Locale,
  opts: { timeoutMs: number; clock?: Clock },
): Channel {
  switch (config.type) {
    case 'email':
      return createEmailChannel({
        name,
        smtp: config.smtp,
        from: config.from,
        to: config.to,
        cc: config.cc,
        subjectPrefix: config.subjectPrefix,
        locale,
        timeoutMs: opts.timeoutMs,
      });
    case 'dingtalk':
      return createDingtalkChannel({
        name,
        url: config.url,
        secret: config.secret,
        atMobiles: config.atMobiles,
        locale,
        ...(opts.clock ? { clock: opts.clock } : {}),
      });
    case 'wecom':
      return createWecomChannel({ name, url: config.url, locale });
    case 'webhook':
      return createWebhookChannel({
        name,
        url: config.url,
        headers: config.headers,
        signingSecret: config.signingSecret,
        ...(opts.clock ? { clock: opts.clock } : {}),
      });
  }
}

/** Every channel of the routes file, built. */
export function buildChannels(routes: RoutesFile, opts: { timeoutMs: number; clock?: Clock }): Channel[] {
  return Object.entries(routes.channels).map(([name, config]) =>
    buildChannel(name, config, config.locale ?? routes.defaults.locale, opts),
  );
}

export { dingtalkSign, signedDingtalkUrl } from './dingtalk.ts';
export type { Channel, ChannelKind } from './types.ts';
export { webhookSignature } from './webhook.ts';
