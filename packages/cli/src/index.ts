export { compareWithWeChat, type Difference, type OurOrder, type TheirOrder } from './compare.ts';
export {
  CommandFailedError,
  EXIT_CODES,
  EXIT_DIFFERENCES,
  EXIT_FAILED,
  EXIT_USAGE,
  type ExitCode,
  UsageError,
} from './errors.ts';
export { table } from './format.ts';
export { type Io, processIo } from './io.ts';
export {
  type OperatorSyncReport,
  type OperatorSyncRow,
  operatorSync,
  renderOperatorSync,
} from './operator-sync.ts';
export { actorOf, DRY_RUN_ACTOR, reasonFor, timeArg } from './options.ts';
export {
  PAYCTL_VERSION,
  type PayctlOptions,
  runPayctl,
  unreachableDependency,
} from './program.ts';
export { Resources } from './resources.ts';
