/**
 * kafkajs 2.2.4 arms its request queue's throttle timer with `throttledUntil - Date.now()` while
 * `throttledUntil` is still -1, a delay of about -1.7e12 ms; Node 24 clamps it to 1 ms and prints a
 * TimeoutNegativeWarning from every process that talks to Kafka. The timer is harmless, the warning
 * is noise that buries real ones, so exactly this warning, raised from inside kafkajs, is dropped —
 * here, where every paysync process gets its Kafka client. Any other negative timeout still warns.
 */
let installed = false;

function isKafkajsNegativeTimer(warning: unknown, rest: unknown[]): boolean {
  const first = rest[0];
  const type =
    typeof first === 'string'
      ? first
      : ((first as { type?: unknown } | undefined)?.type ?? (warning as Error)?.name);
  if (type !== 'TimeoutNegativeWarning') return false;
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, process.emitWarning);
  return /[\\/]kafkajs[\\/]/.test(site.stack ?? '');
}

export function quietKafkajsNegativeTimer(): void {
  if (installed) return;
  installed = true;
  const emit = process.emitWarning;
  process.emitWarning = function emitWarning(this: NodeJS.Process, warning: unknown, ...rest: unknown[]) {
    if (isKafkajsNegativeTimer(warning, rest)) return;
    return (emit as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}

/**
 * kafkajs's notice that an idempotent producer with bounded retries "may invalidate EoS guarantees".
 * The bound is deliberate (see createIdempotentProducer) and paysync claims no exactly-once
 * delivery from Kafka: every consumer deduplicates. The notice says nothing an operator can act on.
 */
export const BOUNDED_RETRIES_NOTICE =
  'Limiting retries for the idempotent producer may invalidate EoS guarantees';
