import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  Counter,
  createLogger,
  createRegistry,
  createShutdown,
  metricName,
  REDACTION_CENSOR,
  startOpsServer,
} from '../../src/index.ts';

function captureLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).trim().split('\n'));
      cb();
    },
  });
  return { logger: createLogger({ service: 'test', level: 'debug', destination }), lines };
}

describe('createLogger', () => {
  it('redacts keys, signatures, openids, ciphertext and headers at any depth', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      {
        apiV3Key: 'KEY-0123456789abcdef0123456789abcd',
        notification: { signature: 'SIG-xyz', resource: { ciphertext: 'CT-abc' } },
        payer: { openid: 'OPENID-o1' },
        req: { headers: { 'wechatpay-signature': 'SIG-h' } },
        outTradeNo: 'RECHARGE_1',
      },
      'notification verified',
    );
    const line = lines.join('\n');
    for (const secret of ['KEY-0123', 'SIG-xyz', 'CT-abc', 'OPENID-o1', 'SIG-h'])
      expect(line).not.toContain(secret);
    const parsed = JSON.parse(lines[0] as string);
    expect(parsed.outTradeNo).toBe('RECHARGE_1');
    expect(parsed.payer.openid).toBe(REDACTION_CENSOR);
    expect(parsed.service).toBe('test');
    expect(parsed.level).toBe('info');
  });
});

describe('metrics', () => {
  it('builds conventional names and refuses others', () => {
    expect(metricName('gateway', 'notifications_total')).toBe('paysync_gateway_notifications_total');
    expect(() => metricName('Gateway', 'x')).toThrow();
  });
});

describe('startOpsServer', () => {
  it('serves healthz, metrics, and readyz that reflects its checks and shutdown', async () => {
    const registry = createRegistry('test', { processMetrics: false });
    const counter = new Counter({ name: 'paysync_test_things_total', help: 'things', registers: [registry] });
    counter.inc(3);
    let dbUp = true;
    const ops = await startOpsServer({
      registry,
      checks: [
        {
          name: 'mysql',
          check: async () => {
            if (!dbUp) throw new Error('connection refused');
          },
        },
      ],
    });
    try {
      expect((await fetch(`${ops.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${ops.url}/metrics`)).text();
      expect(metrics).toContain('paysync_test_things_total{paysync_service="test"} 3');

      expect((await fetch(`${ops.url}/readyz`)).status).toBe(200);
      dbUp = false;
      const notReady = await fetch(`${ops.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({
        checks: [{ name: 'mysql', ok: false, error: 'connection refused' }],
      });

      dbUp = true;
      ops.markShuttingDown();
      expect((await fetch(`${ops.url}/readyz`)).status).toBe(503);
    } finally {
      await ops.close();
    }
  });

  it('fails a readiness check that hangs past its timeout', async () => {
    const registry = createRegistry('test', { processMetrics: false });
    const ops = await startOpsServer({
      registry,
      checkTimeoutMs: 50,
      checks: [{ name: 'kafka', check: () => new Promise<void>(() => {}) }],
    });
    try {
      const res = await fetch(`${ops.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ checks: [{ name: 'kafka', ok: false }] });
    } finally {
      await ops.close();
    }
  });
});

describe('createShutdown', () => {
  it('runs steps once, in order, continuing past a failing step with exit code 1', async () => {
    const { logger } = captureLogger();
    const order: string[] = [];
    const shutdown = createShutdown(logger, { stepTimeoutMs: 100 });
    shutdown.add({ name: 'stop intake', run: async () => void order.push('intake') });
    shutdown.add({
      name: 'drain',
      run: async () => {
        order.push('drain');
        throw new Error('drain failed');
      },
    });
    shutdown.add({ name: 'hang', run: () => new Promise<void>(() => {}) });
    shutdown.add({ name: 'close', run: async () => void order.push('close') });
    const [a, b] = await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);
    expect(order).toEqual(['intake', 'drain', 'close']);
    expect(a).toBe(1);
    expect(b).toBe(1);
  });

  it('exits 0 when every step succeeds', async () => {
    const { logger } = captureLogger();
    const shutdown = createShutdown(logger);
    shutdown.add({ name: 'ok', run: async () => {} });
    expect(await shutdown.run('SIGTERM')).toBe(0);
  });
});
