import { z } from 'zod';
import { faultsPatchSchema } from './faults.ts';
import { merchantSchema } from './merchants.ts';
import type { Clock } from './time.ts';

/** Everything `startSandbox` accepts that can be written as data (flags, env, JSON). */
export const sandboxOptionsSchema = z.strictObject({
  /** Interface to listen on. Default 127.0.0.1. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port; 0 (default) picks a free one. */
  port: z.number().int().min(0).max(65535).default(0),
  /**
   * Merchants the sandbox knows. Without any, it generates one test merchant (keys included) and
   * exposes it as `sandbox.merchant`.
   */
  merchants: z.array(merchantSchema).default([]),
  /** Platform keys at start: a certificate (default), a WeChat Pay public key, or both. */
  keyMode: z.enum(['certificate', 'publicKey', 'both']).default('certificate'),
  /** Multiplies WeChat's notification retry schedule: 0.001 runs 24 h 4 min in about 87 s. */
  timeScale: z.number().positive().max(1000).default(1),
  /** How long a notification delivery may take before it counts as failed (WeChat: 5 s). */
  notifyTimeoutMs: z.number().int().positive().default(5000),
  /**
   * Accept http:// notify URLs. WeChat requires https; the local sandbox allows http by default
   * because tests and the demo receive notifications on loopback. Set false to behave like WeChat.
   */
  allowInsecureNotifyUrl: z.boolean().default(true),
  /** Order queries a merchant may make per second (429 FREQUENCY_LIMITED beyond); 0 = unlimited. */
  queryQps: z.number().min(0).default(0),
  /** Request Authorization timestamps further than this from now are refused (401). */
  authWindowSeconds: z.number().int().positive().default(300),
  /** Real milliseconds before a refund reaches its final status and is notified. */
  refundDelayMs: z.number().int().min(0).default(0),
  /** Seed of the randomness that decides which notifications/queries a share-based fault hits. */
  seed: z.number().int().default(1),
  /** Faults active from the start. */
  faults: faultsPatchSchema.default({}),
});

export type SandboxOptionsInput = z.input<typeof sandboxOptionsSchema>;
export type SandboxConfig = z.output<typeof sandboxOptionsSchema>;

export interface SandboxOptions extends SandboxOptionsInput {
  /** The sandbox's notion of now (ms). Defaults to Date.now. */
  clock?: Clock;
}
