/** A failure of the local stack, with a code and one line a person can act on. */
export class StackError extends Error {
  readonly code:
    | 'CONFIG_INVALID'
    | 'ALREADY_RUNNING'
    | 'PORTS_BUSY'
    | 'MISSING_PART'
    | 'TOOL_MISSING'
    | 'NOT_READY'
    | 'NOT_RUNNING'
    | 'START_FAILED'
    | 'DATABASE_ACCOUNTS';
  /** Extra lines shown after the message (for example a process's last log lines). */
  readonly details: string | undefined;

  constructor(code: StackError['code'], message: string, details?: string) {
    super(message);
    this.name = 'StackError';
    this.code = code;
    this.details = details;
  }
}
