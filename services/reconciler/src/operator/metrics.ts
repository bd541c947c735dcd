import { Counter, createRegistry, Gauge, Histogram, type Registry } from '@paysync/observability';

/** The operator's metrics (scraped from every replica; only the leader's repair counters move). */
export class OperatorMetrics {
  readonly registry: Registry;
  readonly leader: Gauge;
  readonly repairs: Counter<'action' | 'dry_run' | 'phase'>;
  readonly orders: Counter<'action' | 'outcome'>;
  readonly duration: Histogram<'action'>;

  constructor(registry: Registry = createRegistry('reconciler-operator')) {
    this.registry = registry;
    this.leader = new Gauge({
      name: 'paysync_operator_leader',
      help: '1 while this replica holds the operator Lease.',
      registers: [registry],
    });
    this.repairs = new Counter({
      name: 'paysync_operator_repairs_total',
      help: 'PaymentRepairs finished, by action, dry run and phase (Succeeded, Failed).',
      labelNames: ['action', 'dry_run', 'phase'],
      registers: [registry],
    });
    this.orders = new Counter({
      name: 'paysync_operator_repair_orders_total',
      help: 'Orders handled by PaymentRepairs, by action and sync outcome.',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'paysync_operator_repair_duration_seconds',
      help: 'How long a PaymentRepair took from claim to final status.',
      labelNames: ['action'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers: [registry],
    });
  }
}
