export {
  type AlertmanagerAlert,
  type AlertmanagerPayload,
  alertmanagerDedupeKey,
  alertmanagerPayload,
  fingerprintOf,
  noticesFromAlertmanager,
} from './alertmanager.ts';
export { retryDelayMs } from './backoff.ts';
export { type BreakerSettings, RateLimiter } from './breaker.ts';
export {
  type Channel,
  type ChannelKind,
  dingtalkSign,
  signedDingtalkUrl,
  webhookSignature,
} from './channels/index.ts';
export { type AlertingConfig, alertingEnv, loadAlertingConfig } from './config.ts';
export { createDispatcher, type Dispatcher, type DispatcherSettings } from './dispatcher.ts';
export { noticeFromDomainAlert } from './domain.ts';
export { ChannelError, IntakeUnavailableError, RoutesConfigError } from './errors.ts';
export { ALERTMANAGER_PATH } from './http.ts';
export { createIntake, type Intake, type IntakeSummary } from './intake.ts';
export { type AlertingMetrics, BREAKER_STATE_VALUE, createAlertingMetrics } from './metrics.ts';
export { type Notice, notice } from './notice.ts';
export { loadRoutes, parseRoutes, type RoutesFile, routeNotice, type Target } from './routes.ts';
export { DEFAULT_RUNBOOK_BASE_URL, DOMAIN_RUNBOOKS, runbookUrlFor } from './runbooks.ts';
export { resolveSecret, type SecretRef, type SecretSource } from './secrets.ts';
export type { AlertingService } from './service.ts';
export { renderEmail, renderMarkdown, truncateUtf8 } from './templates/render.ts';
