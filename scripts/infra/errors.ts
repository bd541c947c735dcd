/** A failure of the local infrastructure, with a code and one line a person can act on. */
export class InfraError extends Error {
  readonly code: string;
  /** Extra lines shown after the message (for example the tail of a server log). */
  readonly details: string | undefined;

  constructor(code: string, message: string, details?: string) {
    super(message);
    this.name = 'InfraError';
    this.code = code;
    this.details = details;
  }
}
