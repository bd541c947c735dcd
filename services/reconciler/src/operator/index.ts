// The PaymentRepair operator (reconciler `operator` mode).
export { loadOperatorConfig, type OperatorConfig, type OperatorSettings, operatorEnv } from './config.ts';
export { actorOf, RepairController } from './controller.ts';
export {
  AUDIT_TOOL,
  executeRepair,
  PRODUCER,
  type RepairDeps,
  type RepairOutcome,
  selectOrders,
} from './execute.ts';
export { createKube, type Kube } from './kube.ts';
export { type LeaderElectionOptions, LeaderElector } from './leader.ts';
export { OperatorMetrics } from './metrics.ts';
export {
  type Condition,
  PAYMENT_REPAIR,
  type PaymentRepairSpec,
  type PaymentRepairStatus,
  paymentRepairSpec,
  REPORT_LIMIT,
} from './resource.ts';
export { type OperatorSetup, operatorService } from './run.ts';
export { failureOf, finishedStatus, runningStatus, setCondition } from './status.ts';
