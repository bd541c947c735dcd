/** The routes file (or a secret it names) is unusable; `issues` lists every problem at once. */
export class RoutesConfigError extends Error {
  readonly code = 'ROUTES_INVALID';
  readonly issues: readonly string[];
  constructor(file: string, issues: readonly string[]) {
    super(`alerting routes file ${file} is invalid:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'RoutesConfigError';
    this.issues = issues;
  }
}

/**
 * A channel could not deliver. The message is built by paysync (status code, WeChat-style
 * errcode, SMTP reply code, network error code) and never carries a URL, token or secret.
 */
export class ChannelError extends Error {
  readonly code: string;
  readonly channel: string;
  constructor(channel: string, code: string, message: string) {
    super(`${channel}: ${message}`);
    this.name = 'ChannelError';
    this.code = code;
    this.channel = channel;
  }
}

/** The database refused or could not take a delivery claim: callers answer 503 / do not commit. */
export class IntakeUnavailableError extends Error {
  readonly code = 'INTAKE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('alert deliveries cannot be recorded (database unavailable)', { cause });
    this.name = 'IntakeUnavailableError';
  }
}

/** A short, secret-free description of any error, for log lines and `last_error`. */
export function safeErrorMessage(err: unknown): string {
  if (err instanceof ChannelError) return err.message;
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  const name = err instanceof Error ? err.name : 'Error';
  return code ? `${name} ${code}` : name;
}
