/** What a log line says about an error: its class, its code if it has one, and a bounded message. */
export type ErrorDescription = { type: string; code?: string; message: string };

/**
 * The one way paysync describes an error for a log line or a stored `last_error`: the class name,
 * the driver's or library's code (ER_LOCK_DEADLOCK, ECONNREFUSED, …) and the message with its
 * cause, cut to 512 characters. No stack and no properties: those may hold request bodies or keys.
 */
export function describeError(err: unknown): ErrorDescription {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.name}: ${err.cause.message})` : '';
    return {
      type: err.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: `${err.message}${cause}`.slice(0, 512),
    };
  }
  return { type: typeof err, message: 'non-error thrown' };
}
