import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line: keys, secrets, signatures, payer identities and raw
 * ciphertext. pino matches them at any of the listed depths; the censor keeps the key so a reader
 * can see that something was there.
 */
export const REDACTED_PATHS: readonly string[] = (() => {
  const keys = [
    'password',
    'secret',
    'token',
    'apiKey',
    'apiV3Key',
    'privateKey',
    'signature',
    'paySign',
    'ciphertext',
    'openid',
    'authorization',
    'Authorization',
    'cookie',
    '"wechatpay-signature"',
    '"Wechatpay-Signature"',
  ];
  const paths: string[] = [];
  for (const k of keys) paths.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  paths.push('headers', '*.headers', 'req.headers', 'res.headers');
  return paths;
})();

export const REDACTION_CENSOR = '[redacted]';

export type LoggerOptions = {
  service: string;
  level?: string;
  /** Where lines go (default stdout). Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
};

/** A structured JSON logger for one service, with secrets redacted. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTION_CENSOR },
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? stdoutDestination(),
  );
}

/** A real process's stdout: asynchronous writes, so no request waits on the pipe. */
export type StdoutDestination = ReturnType<typeof pino.destination>;

export function stdoutDestination(): StdoutDestination {
  return pino.destination({ sync: false });
}

/**
 * Resolves once every line written so far has reached stdout (or after `timeoutMs`). A process must
 * wait for this before `process.exit`: `logger.flush` returns at once while a write is in flight, and
 * pino's synchronous flush at exit then writes the queued lines ahead of it, or the in-flight one is
 * lost, so the last lines of a stopping service (its exit code among them) went missing.
 */
export function drainLogs(destination: StdoutDestination, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    destination.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
    // An empty write queues behind every pending line; 'drain' fires when the last of them is written.
    destination.write('');
  });
}
