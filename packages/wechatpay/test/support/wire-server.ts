import type { KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSignedHeaders, parseAuthorization, requestSignString, rsaVerify } from '../../src/index.ts';

/**
 * A minimal loopback HTTP server that speaks WeChat Pay's wire format for the client's unit tests:
 * it checks the merchant's Authorization signature and signs its answers. The full WeChat stand-in
 * is @paysync/wechatpay-sandbox (which depends on this package, so it cannot be used here).
 */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  signatureValid: boolean;
}

export interface Reply {
  status: number;
  body?: string;
  /** How to sign: with the server key (default), not at all, or with a probe signature. */
  sign?: 'key' | 'none' | 'probe';
  /** Never answer (to provoke a timeout). */
  hang?: boolean;
}

export interface WireServerOptions {
  merchantPublicKey: KeyObject;
  signingKey: KeyObject;
  serial: string;
  clock?: () => number;
  handle: (req: SeenRequest) => Reply | Promise<Reply>;
}

export interface WireServer {
  url: string;
  seen: SeenRequest[];
  setSigner(signingKey: KeyObject, serial: string): void;
  close(): Promise<void>;
}

export async function startWireServer(options: WireServerOptions): Promise<WireServer> {
  const seen: SeenRequest[] = [];
  let signer = { key: options.signingKey, serial: options.serial };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let signatureValid = false;
      try {
        const auth = parseAuthorization(String(req.headers.authorization ?? ''));
        const message = requestSignString(req.method ?? '', req.url ?? '', auth.timestamp, auth.nonce, body);
        signatureValid = rsaVerify(options.merchantPublicKey, message, auth.signature);
      } catch {
        signatureValid = false;
      }
      const seenRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        signatureValid,
      };
      seen.push(seenRequest);
      const reply: Reply = signatureValid
        ? await options.handle(seenRequest)
        : { status: 401, body: '{"code":"SIGN_ERROR","message":"签名错误"}', sign: 'none' };
      if (reply.hang) return;
      const replyBody = reply.body ?? '';
      const timestamp = Math.floor((options.clock ?? Date.now)() / 1000);
      const headers =
        reply.sign === 'none'
          ? {}
          : buildSignedHeaders({
              privateKey: signer.key,
              serial: signer.serial,
              body: replyBody,
              timestamp,
              requestId: 'REQ-1',
              ...(reply.sign === 'probe' ? { signatureOverride: 'WECHATPAY/SIGNTEST/AAAA' } : {}),
            });
      res.writeHead(reply.status, {
        ...(replyBody ? { 'content-type': 'application/json' } : {}),
        ...headers,
      });
      res.end(replyBody);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    setSigner(key, serial) {
      signer = { key, serial };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
