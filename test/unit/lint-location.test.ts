import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

// `npm test` must not depend on where the checkout lives. Users clone into ~/.cache/…, CI into its
// cache directories; Biome once stopped honouring nested configuration files there (the root's
// `.cache` ignore matched the whole path), and linted 742 vendored schema files. The lint of a
// copy of this working tree under a directory named `.cache` must say exactly what the lint of
// the same copy elsewhere says.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const biome = join(root, 'node_modules/.bin/biome');
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

type Report = {
  summary: { changed: number; unchanged: number; errors: number; warnings: number };
  diagnostics: { category: string; location: { path?: { file?: string } | string } }[];
};

async function lint(cwd: string): Promise<{ checked: number; errors: number; diagnostics: string[] }> {
  const { stdout } = await run(biome, ['check', '--reporter=json', '--max-diagnostics=50', '.'], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
  const report = JSON.parse(stdout) as Report;
  return {
    checked: report.summary.changed + report.summary.unchanged,
    errors: report.summary.errors + report.summary.warnings,
    diagnostics: report.diagnostics.map((d) => `${d.category} ${JSON.stringify(d.location.path)}`).sort(),
  };
}

/** The files of this working tree that git would commit (tracked, or new and not ignored). */
async function workingTreeFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\0').filter((f) => f.length > 0);
}

describe('lint wherever the checkout lives', () => {
  it('checks the same files with the same result under a directory named .cache', async () => {
    const base = await mkdtemp(join(tmpdir(), 'paysync-lint-'));
    scratch.push(base);
    // Two identical copies, one of them under `.cache`: other test files may write probe files into
    // this working tree meanwhile, so it is not compared with itself.
    const plain = join(base, 'plain', 'checkout');
    const cached = join(base, '.cache', 'checkout');
    for (const file of await workingTreeFiles()) {
      await mkdir(dirname(join(plain, file)), { recursive: true });
      await cp(join(root, file), join(plain, file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // deleted in the working tree, not yet in the index
      });
    }
    await cp(plain, cached, { recursive: true });
    for (const copy of [plain, cached]) {
      await run('git', ['init', '-q'], { cwd: copy });
      await symlink(join(root, 'node_modules'), join(copy, 'node_modules'));
    }

    const [here, there] = await Promise.all([lint(plain), lint(cached)]);
    expect(here.checked).toBeGreaterThan(100);
    expect(there).toEqual(here);
  }, 120_000);
});
