import type { Logger } from '@paysync/observability';
import type { NotifyUrlCheck } from '@paysync/wechatpay';
import type { GatewayMetrics } from './metrics.ts';
import { checkGatewayNotifyUrl, describeNotifyUrlProblems, loggableUrl } from './notify-url.ts';

/** Production start-up refused: the notify URL is one WeChat Pay could not deliver to. */
export class NotifyUrlRejectedError extends Error {
  readonly code = 'NOTIFY_URL_INVALID';
  readonly check: NotifyUrlCheck;
  /** The URL with any credentials removed. */
  readonly url: string;

  constructor(message: string, check: NotifyUrlCheck, url: string) {
    super(message);
    this.name = 'NotifyUrlRejectedError';
    this.check = check;
    this.url = url;
  }
}

/**
 * The notify-URL self-check at start-up. Production: a bad URL throws (the process must not start
 * and silently lose every notification, as in the incident). Development: a loud warning, and
 * `paysync_gateway_notify_url_valid` is 0 so the board shows it.
 */
export function enforceNotifyUrl(
  url: string,
  opts: { production: boolean; logger: Logger; metrics: GatewayMetrics; variable?: string },
): NotifyUrlCheck {
  const check = checkGatewayNotifyUrl(url);
  opts.metrics.notifyUrlValid.set(check.ok ? 1 : 0);
  if (check.ok) return check;
  const message = describeNotifyUrlProblems(opts.variable ?? 'WECHATPAY_NOTIFY_URL', url, check);
  if (opts.production) {
    throw new NotifyUrlRejectedError(
      `${message}\nRefusing to start in production mode: WeChat Pay would never deliver a payment notification.`,
      check,
      loggableUrl(url),
    );
  }
  opts.logger.warn(
    { notify_url: loggableUrl(url), problems: check.problems.map((p) => p.code) },
    `NOTIFY URL UNUSABLE BY WECHAT PAY (development mode, starting anyway)\n${message}`,
  );
  return check;
}
