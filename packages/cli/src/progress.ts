import { Presets, SingleBar } from 'cli-progress';
import type { Io } from './io.ts';

export type Progress = { tick(): void; stop(): void };

/** A progress bar on stderr for interactive terminals; nothing otherwise (pipes, --json, CI). */
export function progress(io: Io, total: number, label: string, enabled: boolean): Progress {
  if (!enabled || !io.interactive || total < 2 || !io.progressStream)
    return { tick: () => {}, stop: () => {} };
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
