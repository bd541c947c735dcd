// Open-loop load: requests go out on a fixed schedule whether or not earlier ones were answered, and
// every latency is counted from when its request was due, so a system that falls behind shows its
// queueing instead of slowing the load down (no coordinated omission).
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export type Request = { body: string; headers: Record<string, string> };

/** Per request i: when it was due, when it was answered (NaN: no answer), the status (0: error). */
export type OpenLoopRun = {
  dueAt: Float64Array;
  answeredAt: Float64Array;
  status: Uint16Array;
  /** Seconds from the first due time to the last. */
  seconds: number;
};

/** Sends `requests` to `url` + `path` at `rate` per second; resolves once every one is answered. */
export async function openLoop(opts: {
  url: string;
  path: string;
  requests: readonly Request[];
  rate: number;
  connections?: number;
  /** Called with i when request i is due, just before it is sent. */
  onSend?: (i: number, dueAt: number) => void;
}): Promise<OpenLoopRun> {
  const n = opts.requests.length;
  const pool = new Pool(opts.url, { connections: opts.connections ?? 256, pipelining: 1 });
  const run: OpenLoopRun = {
    dueAt: new Float64Array(n),
    answeredAt: new Float64Array(n).fill(Number.NaN),
    status: new Uint16Array(n),
    seconds: (n - 1) / opts.rate,
  };
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < n) {
    const due = Math.min(n, Math.floor(((performance.now() - started) / 1000) * opts.rate) + 1);
    for (; sent < due; sent += 1) {
      const i = sent;
      const r = opts.requests[i] as Request;
      const dueAt = started + (i / opts.rate) * 1000;
      run.dueAt[i] = dueAt;
      opts.onSend?.(i, dueAt);
      pending.push(
        pool
          .request({ method: 'POST', path: opts.path, headers: r.headers, body: r.body })
          .then(async (res) => {
            await res.body.dump();
            run.answeredAt[i] = performance.now();
            run.status[i] = res.statusCode;
          })
          .catch(() => {
            run.status[i] = 0;
          }),
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(pending);
  await pool.close();
  return run;
}
