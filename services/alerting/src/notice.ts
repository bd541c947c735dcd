import { alertSeverity } from '@paysync/contracts';
import { z } from 'zod';

/** Where a notice came from: a domain alert from Kafka or an Alertmanager webhook. */
export const noticeSource = z.enum(['domain', 'alertmanager']);
export type NoticeSource = z.infer<typeof noticeSource>;

export const noticeStatus = z.enum(['firing', 'resolved']);
export type NoticeStatus = z.infer<typeof noticeStatus>;

const detailValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * One thing to tell people about, whatever its origin. It is what routes match on, what the
 * templates render and what `alert_deliveries.payload` stores (validated again when read back).
 */
export const notice = z.object({
  source: noticeSource,
  status: noticeStatus,
  /** Domain alerts: the producer's dedupe key. Alertmanager: fingerprint and episode start. */
  dedupeKey: z.string().min(1).max(255),
  /** Domain alert type (missed_notification, …) or the Alertmanager alertname. */
  type: z.string().min(1).max(64),
  severity: alertSeverity,
  outTradeNo: z.string().max(64).optional(),
  summary: z.string().min(1).max(1024),
  description: z.string().max(4096).optional(),
  /** Chinese texts, when the producer gave them (rule annotations summary_zh / description_zh). */
  summaryZh: z.string().max(1024).optional(),
  descriptionZh: z.string().max(4096).optional(),
  /** What was seen: the domain alert's details, or the alert's labels. */
  details: z.record(z.string(), detailValue).default({}),
  /** The producer (reconciler, points-ledger, …) or the Alertmanager receiver. */
  producer: z.string().max(128),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  runbookUrl: z.string().max(1024).optional(),
  /** A link to what raised it (Prometheus graph of the expression). */
  link: z.string().max(2048).optional(),
});
export type Notice = z.infer<typeof notice>;
