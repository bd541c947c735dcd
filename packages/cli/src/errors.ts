/**
 * payctl's exit codes, for scripts: 0 done; 1 the command ran and did not (fully) succeed, or a
 * dependency could not be reached; 2 usage or configuration; 3 `payctl order` found differences
 * between paysync and WeChat Pay.
 */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_DIFFERENCES = 3;

/** The command line was wrong (exit 2): missing --reason, bad time, unknown option. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The command ran and did not achieve what was asked (exit 1). */
export class CommandFailedError extends Error {
  readonly code = 'COMMAND_FAILED';
}
