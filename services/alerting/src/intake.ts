import type { Pool } from '@paysync/db';
import type { Logger } from '@paysync/observability';
import { alertnameLabel } from './alertmanager.ts';
import { IntakeUnavailableError } from './errors.ts';
import type { AlertingMetrics } from './metrics.ts';
import type { Notice } from './notice.ts';
import { type RoutesFile, routeNotice } from './routes.ts';
import { type ClaimResult, claimFiring, claimResolved } from './store.ts';

export type IntakeSummary = Record<ClaimResult, number> & { notices: number; unrouted: number };

export type Intake = {
  /**
   * Routes each notice and claims one delivery per channel in MySQL. Resolves once every claim is
   * recorded (the caller may then acknowledge: commit the Kafka offset, answer Alertmanager 200);
   * rejects with IntakeUnavailableError when the database cannot take them.
   */
  accept(notices: readonly Notice[]): Promise<IntakeSummary>;
};

export function createIntake(deps: {
  pool: Pool;
  routes: RoutesFile;
  metrics: AlertingMetrics;
  logger: Logger;
  /** Called after new deliveries were queued, so the dispatcher looks at once. */
  onQueued?: () => void;
}): Intake {
  return {
    async accept(notices) {
      const summary: IntakeSummary = {
        notices: notices.length,
        unrouted: 0,
        queued: 0,
        rearmed: 0,
        duplicate: 0,
        suppressed: 0,
      };
      for (const n of notices) {
        deps.metrics.received.inc({
          source: n.source,
          type: n.source === 'alertmanager' ? alertnameLabel(n.type) : n.type,
          status: n.status,
        });
        const targets = routeNotice(deps.routes, n);
        if (targets.length === 0) {
          if (n.status === 'firing') {
            summary.unrouted++;
            deps.metrics.unrouted.inc({ source: n.source });
            deps.logger.warn(
              { dedupeKey: n.dedupeKey, type: n.type, severity: n.severity },
              'no route for alert',
            );
          }
          continue;
        }
        for (const t of targets) {
          let result: ClaimResult;
          try {
            result =
              n.status === 'firing'
                ? await claimFiring(deps.pool, n, t)
                : await claimResolved(deps.pool, n, t);
          } catch (err) {
            throw new IntakeUnavailableError(err);
          }
          summary[result]++;
          deps.metrics.claims.inc({ channel: t.channel, result });
          deps.logger.info(
            { dedupeKey: n.dedupeKey, status: n.status, type: n.type, channel: t.channel, result },
            'alert claimed',
          );
        }
      }
      if (summary.queued + summary.rearmed > 0) deps.onQueued?.();
      return summary;
    },
  };
}
