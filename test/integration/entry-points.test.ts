import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EXIT_CODES } from '@paysync/observability';
import { eventually, REPO_ROOT } from '@paysync/testkit';
import { runToEnd } from '../monitoring/processes.ts';
import { type PaysyncStack, startPaysyncStack } from '../monitoring/stack.ts';

// Every service's main.ts started with plain `node`, as its container does: jest resolves
// CommonJS packages (kafkajs) more leniently than Node's ESM loader, so only a real process shows
// that an entry point starts. The reconciler's sweep and bill runs are started the same way in
// services/reconciler/test/integration/{main,bill}.test.ts, its operator in k8s-operator.test.ts.
const main = (service: string) => join(REPO_ROOT, 'services', service, 'src', 'main.ts');
let stack: PaysyncStack;

beforeAll(async () => {
  stack = await startPaysyncStack('entry_points');
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe('entry points as real processes', () => {
  it('the gateway, the ledger and alerting start, answer /readyz and stop on SIGTERM with exit 0', async () => {
    expect(Object.keys(stack.ops).sort()).toEqual(['alerting', 'gateway', 'ledger']);
    for (const [name, ops] of Object.entries(stack.ops)) {
      await eventually(`${name} ready`, async () =>
        (await fetch(`${ops}/readyz`)).status === 200 ? true : undefined,
      );
      expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    }
    for (const proc of stack.procs) {
      expect({ name: proc.name, code: await proc.stop() }).toEqual({ name: proc.name, code: EXIT_CODES.ok });
      expect(proc.lines.some((l) => l.includes(`"${proc.name} stopped"`))).toBe(true);
    }
  }, 120_000);

  it('bad configuration: each exits 2 naming the variable, never its value, without a stack trace', async () => {
    const bad = 'mysql-url-that-is-s3cret';
    const runs: [string, string[]][] = [
      ['callback-gateway', []],
      ['points-ledger', []],
      ['alerting', []],
      ['reconciler', ['sweep']],
      ['reconciler', ['bill']],
      ['reconciler', ['operator']],
    ];
    for (const [service, args] of runs) {
      const { code, lines } = await runToEnd(service, process.execPath, [main(service), ...args], {
        MYSQL_URL: bad,
      });
      const output = lines.join('\n');
      expect({ service, args, code }).toEqual({ service, args, code: EXIT_CODES.badConfiguration });
      expect(output).toContain('MYSQL_URL');
      expect(output).not.toContain(bad);
      expect(output).not.toMatch(/\n\s+at /);
    }
  }, 120_000);
});
