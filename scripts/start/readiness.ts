// When is a stack ready: every process answers its health check, a sweep succeeded, and Prometheus
// scrapes every target.
import { StackError } from './errors.ts';
import type { JobRun } from './job.ts';
import type { CombinedLog } from './log.ts';
import type { SupervisedProcess } from './process.ts';
import type { Stack } from './stack.ts';

export async function waitFor(
  procs: SupervisedProcess[],
  timeoutMs: number,
  log: CombinedLog,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(procs.map((p) => p.healthy()));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) {
      const pending = procs.filter((_, i) => !states[i]);
      throw new StackError(
        'NOT_READY',
        `not ready after ${timeoutMs / 1000}s: ${pending.map((p) => p.name).join(', ')}`,
        pending
          .map(
            (p) =>
              `${p.name}:\n${log
                .recent(p.name)
                .map((l) => `  | ${l}`)
                .join('\n')}`,
          )
          .join('\n'),
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function prometheusTargetsUp(prometheus: string): Promise<boolean> {
  try {
    const res = await fetch(`${prometheus}/api/v1/targets?state=active`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { data?: { activeTargets?: { health: string }[] } };
    const targets = body.data?.activeTargets ?? [];
    return targets.length > 0 && targets.every((t) => t.health === 'up');
  } catch {
    return false;
  }
}

export async function waitReady(
  stack: Stack,
  log: CombinedLog,
  prometheus: string | undefined,
  opts: { timeoutMs?: number; onWaiting?: (pending: string[]) => void },
): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  const announced = new Set<string>();
  let sweepOk = stack.sweep === undefined || stack.sweep.runs.some((r) => r.code === 0);
  const firstSweep = stack.sweep?.nextRun((r: JobRun) => r.code === 0);
  void firstSweep?.then(() => {
    sweepOk = true;
  });
  for (;;) {
    const pending: string[] = [];
    for (const p of stack.processes) {
      if (await p.healthy()) {
        if (!announced.has(p.name)) log.note(p.name, 'ready');
        announced.add(p.name);
      } else pending.push(p.name);
    }
    if (stack.sweep && !sweepOk) pending.push('reconciler (first successful sweep)');
    if (pending.length === 0 && prometheus && !(await prometheusTargetsUp(prometheus))) {
      pending.push('prometheus (every scrape target up)');
    }
    if (pending.length === 0) return;
    const now = Date.now();
    if (opts.timeoutMs !== undefined && now - started > opts.timeoutMs) {
      throw new StackError(
        'NOT_READY',
        `not ready after ${Math.round((now - started) / 1000)}s: ${pending.join(', ')}`,
        pending
          .map((name) => name.split(' ')[0] as string)
          .map(
            (name) =>
              `${name}:\n${log
                .recent(name, 15)
                .map((l) => `  | ${l}`)
                .join('\n')}`,
          )
          .join('\n'),
      );
    }
    if (now - lastReport >= 10_000) {
      lastReport = now;
      opts.onWaiting?.(pending);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
