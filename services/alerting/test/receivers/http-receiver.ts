import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a receiver misbehaves: answer 502 like a broken gateway, or refuse connections outright. */
export type Fault = 'none' | 'error' | 'refuse';

export type HttpReceiver = {
  url: string;
  port: number;
  setFault(fault: Fault): Promise<void>;
  close(): Promise<void>;
};

export type Handler = (req: IncomingMessage, url: URL, body: Buffer) => { status: number; body: unknown };

/**
 * A small HTTP server standing in for a robot webhook. In `error` it answers 502 with an HTML body
 * (as a proxy in front of a dead service does); in `refuse` it stops listening (connection
 * refused) and comes back on the same port when the fault is cleared.
 */
export async function startHttpReceiver(handler: Handler, port = 0): Promise<HttpReceiver> {
  let fault: Fault = 'none';
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (fault === 'error') {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://receiver');
      const answer = handler(req, url, Buffer.concat(chunks));
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  };
  let server: Server = createServer(onRequest);
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const bound = await listen(port);
  let listening = true;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    async setFault(next) {
      if (next === 'refuse' && listening) {
        await stop();
        listening = false;
      } else if (next !== 'refuse' && !listening) {
        server = createServer(onRequest);
        await listen(bound);
        listening = true;
      }
      fault = next;
    },
    async close() {
      if (listening) await stop();
      listening = false;
    },
  };
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
