export { compareWithWeChat, type Difference, type OurOrder, type TheirOrder } from './compare.ts';
export { CommandFailedError, UsageError } from './errors.ts';
export { table } from './format.ts';
export { type Io, processIo } from './io.ts';
export {
  type OperatorSyncReport,
  type OperatorSyncRow,
  operatorSync,
  renderOperatorSync,
} from './operator-sync.ts';
export { actorOf, reasonFor, timeArg } from './options.ts';
export { runPayctl } from './program.ts';
