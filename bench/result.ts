import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One scenario's result, written to bench/results/<scenario>.json (format of docs/DESIGN.md). */
export type BenchResult = {
  scenario: string;
  value: number;
  unit: string;
  /** Measured in the same run and process tree as `value`, so the ratio holds on a noisy machine. */
  baseline?: { name: string; value: number };
  ratio?: number;
  target: { ratio?: number; value?: number; [k: string]: number | undefined };
  pass: boolean;
  extra: Record<string, number | string | boolean>;
  machine: { cpus: number; cpu_model: string; memory_gb: number; node: string };
  at: string;
};

export type Scenario = {
  name: string;
  description: string;
  run(): Promise<Omit<BenchResult, 'machine' | 'at' | 'scenario'>>;
};

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function machine(): BenchResult['machine'] {
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export async function writeResult(result: BenchResult): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.scenario}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Percentile of a sorted or unsorted sample, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Peak resident memory (VmHWM) of a live process, in MiB: read it just before stopping the process. */
export async function peakRssMb(pid: number = process.pid): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/**
 * CPU time (user + system) a live process has used so far, in ms, from /proc/<pid>/stat. CPU per
 * request is steadier than requests per second on a shared 2-core machine: it does not depend on
 * what else runs.
 */
export async function processCpuMs(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}
