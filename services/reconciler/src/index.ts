export { BILL_PRODUCER, type BillJobConfig, type BillJobDeps, defaultBillDate, runBillJob } from './bill.ts';
export { billEnvShape } from './bill-config.ts';
export { BILL_CUMULATIVE_METRICS, BILL_RUN_STATUSES, BillMetrics } from './bill-metrics.ts';
export { loadReconcilerConfig, type ReconcilerConfig, reconcilerEnv, syncPolicyOf } from './config.ts';
export { CARRIED_GAUGES, CUMULATIVE_METRICS, SWEEP_STATUSES, SweepMetrics } from './metrics.ts';
export {
  loadOperatorConfig,
  OperatorMetrics,
  type OperatorSetup,
  operatorEnv,
  operatorService,
  PAYMENT_REPAIR,
  paymentRepairSpec,
} from './operator/index.ts';
export { previousValues, pushRunMetrics } from './pushgateway.ts';
export {
  exitCodeOf,
  PRODUCER,
  runSweepJob,
  type SweepJobConfig,
  type SweepJobDeps,
  type SweepJobResult,
} from './run.ts';
export { runSweep, type SweepDeps, type SweepOptions, type SweepReport, type SweepStatus } from './sweep.ts';
