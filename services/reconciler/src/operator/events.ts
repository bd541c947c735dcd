import { randomBytes } from 'node:crypto';
import { V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '@paysync/observability';
import { describeApiError, type Kube } from './kube.ts';
import { PAYMENT_REPAIR, type PaymentRepairObject } from './resource.ts';

export const REPORTING_CONTROLLER = 'paysync.io/reconciler-operator';

export type RepairEvent = {
  type: 'Normal' | 'Warning';
  reason: 'Started' | 'Restarted' | 'Succeeded' | 'Failed' | 'Invalid';
  note: string;
};

/**
 * Records an events.k8s.io/v1 Event about a PaymentRepair (`kubectl describe` and `kubectl events`
 * show it). An Event that cannot be written is logged, never fatal: the status is the record.
 */
export async function recordEvent(
  kube: Kube,
  logger: Logger,
  identity: string,
  repair: PaymentRepairObject,
  event: RepairEvent,
): Promise<void> {
  const { name, namespace, uid, resourceVersion } = repair.metadata;
  try {
    await kube.events.createNamespacedEvent({
      namespace,
      body: {
        // As client-go names them: the object's name, a dot, something unique.
        metadata: {
          name: `${name.slice(0, 230)}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`,
          namespace,
        },
        eventTime: new V1MicroTime(),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: identity.slice(0, 128),
        action: 'Execute',
        reason: event.reason,
        type: event.type,
        note: event.note.slice(0, 1024),
        regarding: {
          apiVersion: PAYMENT_REPAIR.apiVersion,
          kind: PAYMENT_REPAIR.kind,
          name,
          namespace,
          uid,
          resourceVersion,
        },
      },
    });
  } catch (err) {
    logger.warn({ repair: `${namespace}/${name}`, err: describeApiError(err) }, 'could not record an event');
  }
}
