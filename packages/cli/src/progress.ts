import { Presets, SingleBar } from 'cli-progress';
import type { Io } from './io.ts';

export type Progress = { tick(): void; stop(): void };

/** Lines written without a terminal: at most this many per run, plus the last. */
const PLAIN_LINES = 20;

/**
 * Progress of a run over `total` items: a bar on stderr in an interactive terminal; without one
 * (kubectl exec, a pipe, CI) one line per step — every 5 % — and a last line when it ends, so a
 * long repair never looks hung. Nothing with --json or for a single item.
 */
export function progress(io: Io, total: number, label: string, enabled: boolean): Progress {
  if (!enabled || total < 2) return { tick: () => {}, stop: () => {} };
  if (!io.interactive || !io.progressStream) {
    const every = Math.max(1, Math.ceil(total / PLAIN_LINES));
    const started = performance.now();
    let done = 0;
    const line = (suffix = '') =>
      io.err(`payctl: ${label} ${done}/${total} (${Math.floor((done * 100) / total)} %)${suffix}\n`);
    return {
      tick: () => {
        done++;
        if (done % every === 0 && done < total) line();
      },
      stop: () => line(`, ended after ${((performance.now() - started) / 1000).toFixed(1)} s`),
    };
  }
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} (eta {eta_formatted})`,
      stream: io.progressStream,
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}
