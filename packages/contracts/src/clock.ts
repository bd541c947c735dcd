/**
 * The one way paysync injects time: a function returning milliseconds since the epoch, as
 * `Date.now` does. Code that takes a clock defaults to `systemClock`; tests pass a fixed or moving
 * one. Where a `Date` is needed, `new Date(clock())`.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** For code that works in `Date`s: what `clock` says now, as a `Date` (system time by default). */
export function dateClock(clock: Clock = systemClock): () => Date {
  return () => new Date(clock());
}
