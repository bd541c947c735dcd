/** The command line was wrong (exit 2): missing --reason, bad time, unknown option. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** The command ran and did not achieve what was asked (exit 1). */
export class CommandFailedError extends Error {
  readonly code = 'COMMAND_FAILED';
}
