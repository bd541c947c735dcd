/**
 * payctl's exit codes, for scripts (README "exit" table; a test keeps the two equal): 0 done; 1 the
 * command ran and did not (fully) succeed, or a dependency could not be reached; 2 usage or
 * configuration; 3 `payctl order` found differences between paysync and WeChat Pay. Closed: a
 * command declared to return an ExitCode, and the exit status of every error, cannot be another number.
 */
export const EXIT_CODES = { done: 0, failed: 1, usage: 2, differences: 3 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export const EXIT_FAILED = EXIT_CODES.failed;
export const EXIT_USAGE = EXIT_CODES.usage;
export const EXIT_DIFFERENCES = EXIT_CODES.differences;

/** The command line was wrong (exit 2): missing --reason, bad time, unknown option. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The command ran and did not achieve what was asked (exit 1). */
export class CommandFailedError extends Error {
  readonly code = 'COMMAND_FAILED';
}
