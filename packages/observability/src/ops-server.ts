import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { startHttpServer } from './http-server.ts';

export type ReadinessCheck = { name: string; check: () => Promise<void> };
export type CheckOutcome = { name: string; ok: boolean; error?: string };

export type OpsServerOptions = {
  registry: Registry;
  checks?: readonly ReadinessCheck[];
  host?: string;
  port?: number;
  /** Each readiness check must answer within this time (default 2 s). */
  checkTimeoutMs?: number;
  logger?: Logger;
};

export type OpsServer = {
  url: string;
  /** After this, /readyz answers 503 so load balancers stop sending work during shutdown. */
  markShuttingDown(): void;
  close(): Promise<void>;
};

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name: c.name, ok: true };
  } catch (err) {
    return { name: c.name, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** `/readyz`'s usual checks: MySQL answers `SELECT 1`, the Kafka cluster can be described. */
export function dependencyChecks(deps: {
  mysql?: { query(sql: string): Promise<unknown> };
  kafka?: { describeCluster(): Promise<unknown> };
}): ReadinessCheck[] {
  const { mysql, kafka } = deps;
  return [
    ...(mysql ? [{ name: 'mysql', check: async () => void (await mysql.query('SELECT 1')) }] : []),
    ...(kafka ? [{ name: 'kafka', check: async () => void (await kafka.describeCluster()) }] : []),
  ];
}

/**
 * The operational HTTP endpoints every long-running paysync service exposes:
 * `/healthz` (the process is alive), `/readyz` (its dependencies answer) and `/metrics`.
 */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const checks = opts.checks ?? [];
  const timeoutMs = opts.checkTimeoutMs ?? 2000;
  let shuttingDown = false;

  const http = await startHttpServer(
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '{"error":"method not allowed"}');
      if (path === '/healthz') return send(200, '{"status":"ok"}');
      if (path === '/readyz') {
        if (shuttingDown) return send(503, JSON.stringify({ status: 'shutting_down', checks: [] }));
        void Promise.all(checks.map((c) => runCheck(c, timeoutMs))).then((outcomes) => {
          const ok = outcomes.every((o) => o.ok);
          if (!ok) opts.logger?.warn({ checks: outcomes.filter((o) => !o.ok) }, 'readiness check failed');
          send(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks: outcomes }));
        });
        return;
      }
      if (path === '/metrics') {
        opts.registry
          .metrics()
          .then((text) => send(200, text, opts.registry.contentType))
          .catch((err: unknown) => {
            opts.logger?.error({ err }, 'metrics collection failed');
            send(500, '{"error":"metrics collection failed"}');
          });
        return;
      }
      send(404, '{"error":"not found"}');
    },
    { host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 },
  );

  return {
    url: http.url,
    markShuttingDown() {
      shuttingDown = true;
    },
    // Scrapes and probes are short: nothing to wait for.
    close: () => http.close(0),
  };
}
