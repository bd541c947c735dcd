type Started = { stop: () => Promise<void> };
const state = globalThis as typeof globalThis & { __paysyncStarted?: Started[] };

/** Stops exactly what the global setup started, nothing that was already running. */
export default async function globalTeardown(): Promise<void> {
  for (const s of state.__paysyncStarted ?? []) await s.stop();
  state.__paysyncStarted = [];
}
