import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from './errors.ts';
import { progress } from './log.ts';
import { alive } from './proc.ts';

/**
 * Runs `fn` holding a lock directory (mkdir is atomic), so two `up`/`down` runs never race. A lock
 * whose owner process is gone is taken over.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, waitMs = 30 * 60_000): Promise<T> {
  mkdirSync(dirname(lockDir), { recursive: true });
  const owner = join(lockDir, 'owner');
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, `${process.pid}\n`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = Number.NaN;
      try {
        pid = Number(readFileSync(owner, 'utf8').trim()) || Number.NaN;
      } catch {
        // the owner is between mkdir and writing its pid, or is gone
      }
      const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if ((Number.isInteger(pid) && !alive(pid)) || (!Number.isInteger(pid) && age > 10_000)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new InfraError(
          'LOCKED',
          `another scripts/infra.ts run (pid ${pid}) holds ${lockDir}; gave up waiting`,
        );
      }
      if (!announced && Number.isInteger(pid)) {
        progress(`waiting for another scripts/infra.ts run (pid ${pid}) to finish…`);
        announced = true;
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
