import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// `npm test` runs each workspace's test:unit, test:integration and test:faults scripts. Jest's
// --passWithNoTests turns a misconfigured test path into a silent pass, so it is allowed only where
// the workspace has no tests of that kind; where it has some, the script must exist and find them.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KINDS = ['unit', 'integration', 'faults'] as const;

async function testFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.test.ts')).length;
}

async function workspaces(): Promise<string[]> {
  const out = [join(root, 'test')];
  for (const group of ['packages', 'services']) {
    for (const name of await readdir(join(root, group))) out.push(join(root, group, name));
  }
  return out;
}

describe('workspace test scripts', () => {
  it('pass with no tests only where there are none of that kind', async () => {
    const findings: string[] = [];
    for (const ws of await workspaces()) {
      const pkg = JSON.parse(await readFile(join(ws, 'package.json'), 'utf8')) as {
        scripts?: Record<string, string>;
      };
      for (const kind of KINDS) {
        // The cross-service workspace keeps its suites in test/<kind>, the others in <ws>/test/<kind>.
        const dir = ws === join(root, 'test') ? join(ws, kind) : join(ws, 'test', kind);
        const n = await testFiles(dir);
        const script = pkg.scripts?.[`test:${kind}`];
        const where = `${relative(root, ws) || '.'} test:${kind}`;
        if (n > 0 && script === undefined) findings.push(`${where}: ${n} test files but no script`);
        if (n > 0 && script?.includes('--passWithNoTests'))
          findings.push(`${where}: --passWithNoTests with ${n} tests`);
      }
    }
    expect(findings).toEqual([]);
  });
});
