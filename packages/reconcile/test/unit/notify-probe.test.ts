import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CALLBACK_PATH, probeNotifyUrl } from '../../src/index.ts';

// A stand-in ingress: answers the callback route as the gateway does for an unsigned POST, and
// other routes as a misrouted ingress would.
let server: http.Server;
let base = '';
let lastRequest: { method?: string; contentType?: string } = {};
beforeAll(async () => {
  server = http.createServer((req, res) => {
    lastRequest = { method: req.method, contentType: req.headers['content-type'] };
    req.resume();
    req.on('end', () => {
      if (req.url === CALLBACK_PATH) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'FAIL', message: 'missing Wechatpay-Signature' }));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end(), 2000).unref();
      } else if (req.url === '/ok') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('notify URL probe', () => {
  it('refuses the incident’s localhost URL without sending anything', async () => {
    const r = await probeNotifyUrl('http://localhost:8080/api/payment/wechat/callback');
    expect(r.healthy).toBe(false);
    expect(r.reachable).toBeUndefined();
    expect(r.check.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['NOT_HTTPS', 'LOCAL_HOST']));
  });

  it('is healthy when the route answers with the gateway’s FAIL refusal to an unsigned POST', async () => {
    const r = await probeNotifyUrl(`${base}${CALLBACK_PATH}`, { allowInsecure: true });
    expect(r).toMatchObject({ healthy: true, reachable: true, status: 401 });
    expect(lastRequest).toEqual({ method: 'POST', contentType: 'application/json' });
  });

  it('accepts a 2xx answer', async () => {
    const r = await probeNotifyUrl(`https://pay.example.com${CALLBACK_PATH}`, { probeUrl: `${base}/ok` });
    expect(r).toMatchObject({ healthy: true, status: 204 });
  });

  it('is unhealthy when the ingress does not route to the gateway (404)', async () => {
    const r = await probeNotifyUrl(`https://pay.example.com${CALLBACK_PATH}`, {
      probeUrl: `${base}/elsewhere`,
    });
    expect(r).toMatchObject({ healthy: false, reachable: false, status: 404 });
  });

  it('is unhealthy when nothing listens or it does not answer in time', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await probeNotifyUrl(`http://127.0.0.1:${port}${CALLBACK_PATH}`, { allowInsecure: true });
    expect(refused).toMatchObject({ healthy: false, reachable: false });
    expect(refused.problem).toMatch(/ECONNREFUSED/);
    const slow = await probeNotifyUrl(`https://pay.example.com${CALLBACK_PATH}`, {
      probeUrl: `${base}/slow`,
      timeoutMs: 200,
    });
    expect(slow.problem).toMatch(/timed out/);
  });
});
