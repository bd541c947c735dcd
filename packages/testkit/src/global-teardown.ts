type Started = { stop: () => Promise<void> };
const state = globalThis as typeof globalThis & { __paysyncStarted?: Started[] };

/**
 * How long Jest may take to exit after the global teardown. The suites close every socket, pool,
 * client and timer they open, so Jest exits on its own (there is no forceExit to hide a leak); a
 * suite that leaks one would otherwise keep the run alive until CI's time limit, with no word why.
 */
const EXIT_GRACE_MS = 30_000;

/** Stops exactly what the global setup started, nothing that was already running. */
export default async function globalTeardown(): Promise<void> {
  for (const s of state.__paysyncStarted ?? []) await s.stop();
  state.__paysyncStarted = [];
  const watchdog = setTimeout(() => {
    const held = process
      .getActiveResourcesInfo()
      .filter((r) => r !== 'TTYWrap')
      .join(', ');
    process.stderr.write(
      `\npaysync: Jest has not exited ${EXIT_GRACE_MS / 1000} s after the tests ended: a test left something open (${held}). Find it with \`npx jest --detectOpenHandles <file>\`.\n`,
    );
    process.exit(1);
  }, EXIT_GRACE_MS);
  watchdog.unref();
}
