import { CALLBACK_PATH, probeNotifyUrl } from '@paysync/reconcile';
import { load, notifyEnv } from '../config.ts';
import { type ExitCode, UsageError } from '../errors.ts';
import { json } from '../format.ts';
import { type Io, paint } from '../io.ts';
import { duration } from '../options.ts';

export type NotifyFlags = { probeUrl?: string; timeout?: string; allowInsecure?: boolean; json?: boolean };

/** payctl check-notify-url [url]: WeChat's rules for the URL, then a live probe as WeChat would send it. */
export async function checkNotifyUrlCommand(
  io: Io,
  url: string | undefined,
  flags: NotifyFlags,
): Promise<ExitCode> {
  const target = url ?? load(notifyEnv, io.env).WECHATPAY_NOTIFY_URL;
  if (!target) throw new UsageError('give the notify URL, or set WECHATPAY_NOTIFY_URL');
  const result = await probeNotifyUrl(target, {
    probeUrl: flags.probeUrl,
    timeoutMs: flags.timeout ? duration('--timeout', flags.timeout) : 5000,
    allowInsecure: flags.allowInsecure ?? false,
    expectedPath: CALLBACK_PATH,
  });
  if (flags.json) {
    json(io, result);
  } else {
    const lines = [`${paint(io, 'bold', 'notify URL')} ${result.url}`];
    if (result.check.ok)
      lines.push(
        paint(io, 'green', '  ✓ follows WeChat Pay’s rules (https, public host, no query, callback path)'),
      );
    for (const p of result.check.problems) lines.push(paint(io, 'red', `  ✗ ${p.message}`));
    if (result.reachable === undefined)
      lines.push('  - not probed: fix the URL first (or --allow-insecure for a local sandbox)');
    else if (result.reachable) {
      lines.push(
        paint(io, 'green', `  ✓ reached the gateway (HTTP ${result.status}, ${result.latencyMs} ms)`),
      );
    } else lines.push(paint(io, 'red', `  ✗ ${result.problem}`));
    lines.push(
      result.healthy
        ? paint(io, 'green', 'healthy')
        : paint(io, 'red', 'UNHEALTHY: WeChat Pay notifications cannot arrive'),
    );
    io.out(`${lines.join('\n')}\n`);
  }
  return result.healthy ? 0 : 1;
}
