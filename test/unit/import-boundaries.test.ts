import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

// Proves the lint rule that keeps the architecture honest: packages never import services, and
// nobody deep-imports another workspace. Probe files are written into a scratch package and
// service, linted with the repository's Biome configuration, and removed.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = `zz-boundary-probe-${process.pid}`;
const created: string[] = [];

async function lint(relPath: string, source: string): Promise<string[]> {
  const file = join(root, relPath);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, source);
  const biome = join(root, 'node_modules/.bin/biome');
  const { stdout } = await run(biome, ['lint', '--reporter=json', relPath], { cwd: root }).catch(
    (err: { stdout: string }) => ({ stdout: err.stdout }),
  );
  const report = JSON.parse(stdout) as {
    diagnostics: { category: string; location: { start?: { line: number } } }[];
  };
  return report.diagnostics
    .filter((d) => d.category === 'lint/style/noRestrictedImports')
    .map((d) => d.category);
}

afterAll(async () => {
  for (const dir of created) await rm(dir, { recursive: true, force: true });
});

describe('import boundaries', () => {
  created.push(join(root, 'packages', scratch), join(root, 'services', scratch));

  it.each([
    [
      'a package importing a service by name',
      `packages/${scratch}/src/a.ts`,
      "import { x } from '@paysync/points-ledger';",
    ],
    [
      'a package importing a service by path',
      `packages/${scratch}/src/b.ts`,
      "import { x } from '../../../services/reconciler/src/main.ts';",
    ],
    [
      'a deep import of another package',
      `services/${scratch}/src/c.ts`,
      "import { x } from '@paysync/contracts/src/topics.ts';",
    ],
    [
      'a relative import into another package',
      `services/${scratch}/test/unit/d.ts`,
      "import { x } from '../../../points-ledger/src/index.ts';",
    ],
  ])('rejects %s', async (_name, path, line) => {
    expect((await lint(path, `${line}\nexport const y = x;\n`)).length).toBeGreaterThan(0);
  });

  it.each([
    [
      'a package importing another package by name',
      `packages/${scratch}/src/e.ts`,
      "import { x } from '@paysync/contracts';",
    ],
    [
      'a test importing its own package source',
      `services/${scratch}/test/unit/f.ts`,
      "import { x } from '../../src/index.ts';",
    ],
  ])('allows %s', async (_name, path, line) => {
    expect(await lint(path, `${line}\nexport const y = x;\n`)).toHaveLength(0);
  });
});
