import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type HttpServer = {
  server: Server;
  url: string;
  /**
   * Stops accepting connections, lets in-flight requests finish (keep-alive connections are closed
   * as soon as they are idle), and after `graceMs` closes whatever is still open.
   */
  close(graceMs?: number): Promise<void>;
};

/**
 * An HTTP server every paysync listener uses (the gateway, the alerting webhook, the ops
 * endpoints): bounded timeouts, so slow or idle clients cannot hold connections for long, and one
 * way to stop.
 */
export async function startHttpServer(
  handler: RequestListener,
  opts: { host?: string; port?: number } = {},
): Promise<HttpServer> {
  const server = createServer(
    { requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        // Keep-alive connections whose last request finishes during the drain become idle: close them then.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
