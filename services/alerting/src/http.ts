import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, startHttpServer } from '@paysync/observability';
import { alertmanagerPayload, MAX_ALERTS_PER_REQUEST, noticesFromAlertmanager } from './alertmanager.ts';
import { IntakeUnavailableError, safeErrorMessage } from './errors.ts';
import type { Intake } from './intake.ts';
import type { AlertingMetrics } from './metrics.ts';

export const ALERTMANAGER_PATH = '/alertmanager';

export type AlertingHttpServer = {
  url: string;
  /** New requests are answered 503 (Alertmanager retries them against another replica). */
  markShuttingDown(): void;
  close(): Promise<void>;
};

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1] as string);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * `POST /alertmanager`: Alertmanager's webhook (payload version 4). 200 once every alert is
 * claimed in MySQL; 400 for a payload that will never be valid (Alertmanager does not retry 4xx);
 * 503 when the database cannot take it or the service is stopping (Alertmanager retries 5xx).
 */
export async function startAlertingHttpServer(opts: {
  intake: Intake;
  metrics: AlertingMetrics;
  logger: Logger;
  host: string;
  port: number;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string | undefined;
  maxBodyBytes?: number;
}): Promise<AlertingHttpServer> {
  const limit = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  let shuttingDown = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(shuttingDown ? { connection: 'close' } : {}),
      });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== ALERTMANAGER_PATH) return send(404, { error: 'not found' });
    if (req.method !== 'POST') return send(405, { error: 'method not allowed' });
    if (shuttingDown) return send(503, { error: 'shutting down' });
    if (opts.token && !tokenMatches(req.headers.authorization, opts.token)) {
      return send(401, { error: 'unauthorized' });
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      opts.metrics.invalid.inc({ source: 'alertmanager' });
      return send(415, { error: 'expected application/json' });
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLarge) return send(413, { error: 'payload too large' });
      return send(400, { error: 'body could not be read' });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      opts.metrics.invalid.inc({ source: 'alertmanager' });
      return send(400, { error: 'body is not JSON' });
    }
    const alerts = (json as { alerts?: unknown } | null)?.alerts;
    if (Array.isArray(alerts) && alerts.length > MAX_ALERTS_PER_REQUEST) {
      opts.metrics.invalid.inc({ source: 'alertmanager' });
      return send(413, {
        error: `too many alerts: at most ${MAX_ALERTS_PER_REQUEST} per request (set max_alerts in the webhook_config)`,
      });
    }
    const parsed = alertmanagerPayload.safeParse(json);
    if (!parsed.success) {
      opts.metrics.invalid.inc({ source: 'alertmanager' });
      const issues = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.')}: ${i.message}`);
      opts.logger.warn({ issues }, 'invalid Alertmanager payload');
      return send(400, { error: 'invalid Alertmanager payload', issues });
    }
    const notices = noticesFromAlertmanager(parsed.data);
    try {
      const summary = await opts.intake.accept(notices);
      send(200, { status: 'accepted', ...summary });
    } catch (err) {
      if (err instanceof IntakeUnavailableError) {
        opts.logger.error(
          { error: safeErrorMessage(err.cause) },
          'Alertmanager notification refused: database unavailable',
        );
        return send(503, { error: 'cannot record alerts right now; retry' });
      }
      throw err;
    }
  }

  const http = await startHttpServer(
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        opts.logger.error({ error: safeErrorMessage(err) }, 'Alertmanager webhook failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"internal error"}');
        }
      });
    },
    { host: opts.host, port: opts.port },
  );
  return {
    url: http.url,
    markShuttingDown() {
      shuttingDown = true;
    },
    // In-flight notifications finish (up to 2 s); Alertmanager retries the rest elsewhere.
    close: () => http.close(2000),
  };
}
