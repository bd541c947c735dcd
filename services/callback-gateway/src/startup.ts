import { checkTopicDurability, type Durability } from '@paysync/kafka';
import type { Logger } from '@paysync/observability';
import type { NotifyUrlCheck } from '@paysync/wechatpay';
import type { Admin } from 'kafkajs';
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

/** Production start-up refused: an acknowledged observation could be lost with one broker. */
export class TopicNotDurableError extends Error {
  readonly code = 'TOPIC_NOT_DURABLE';
  readonly durability: Durability;

  constructor(durability: Durability) {
    super(
      `the observation topic is not durable enough for acks=all to mean anything:\n${durability.problems
        .map((p) => `  - ${p.message}`)
        .join(
          '\n',
        )}\nRefusing to start in production mode: the gateway answers WeChat Pay 204 once Kafka acknowledged a notification, and WeChat never sends it again.`,
    );
    this.name = 'TopicNotDurableError';
    this.durability = durability;
  }
}

/**
 * The observation topic's durability at start-up (replication factor ≥ 3, min.insync.replicas ≥ 2).
 * Production: refuse to start — a 204 to WeChat Pay is final, so an acknowledgement that one broker
 * can lose breaks invariant 4; refusing costs nothing (WeChat retries for a day and the previous
 * pods keep serving during a rollout). Development (a single local broker): a warning.
 */
export async function enforceTopicDurability(
  admin: Admin,
  topic: string,
  opts: { production: boolean; logger: Logger },
): Promise<Durability> {
  const durability = await checkTopicDurability(admin, topic);
  if (durability.problems.length === 0) return durability;
  if (opts.production) throw new TopicNotDurableError(durability);
  opts.logger.warn(
    {
      topic,
      replication_factor: durability.replicationFactor,
      min_insync_replicas: durability.minInsyncReplicas,
      problems: durability.problems.map((p) => p.code),
    },
    'observation topic not durable (development mode, starting anyway)',
  );
  return durability;
}
