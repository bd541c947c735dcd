import { checkNotifyUrl, NOTIFY_PROBE_USER_AGENT, type NotifyUrlCheck } from '@paysync/wechatpay';

/** The gateway's callback route: the path of the notify URL registered with WeChat Pay. */
export const CALLBACK_PATH = '/api/payment/wechat/callback';

export type NotifyProbeResult = {
  /** The URL checked, without credentials. */
  url: string;
  healthy: boolean;
  /** WeChat's rules for notify URLs (https, public host, no query, the callback path). */
  check: NotifyUrlCheck;
  /** Whether the live probe reached the gateway; undefined when it was not attempted. */
  reachable: boolean | undefined;
  status?: number;
  latencyMs?: number;
  /** Why it is unhealthy, one line. */
  problem?: string;
};

export type NotifyProbeOptions = {
  /** Where to send the probe when it differs from the notify URL (e.g. through another resolver). */
  probeUrl?: string | undefined;
  timeoutMs?: number;
  expectedPath?: string;
  /** Skip WeChat's static rules (loopback sandboxes in tests and local runs only). */
  allowInsecure?: boolean;
  fetch?: typeof fetch;
};

function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * Probes the public notify URL as WeChat would reach it: a POST with a JSON body and no WeChat
 * signature. paysync's gateway answers that with WeChat's refusal format — 4xx and
 * `{"code":"FAIL",…}` — which proves DNS, TLS, the ingress route and the gateway's callback
 * handler all work, without creating anything. 2xx also counts as reachable. Anything else (a
 * connection error, a timeout, 404, 405, 5xx, or a body that is not the gateway's) is unhealthy.
 */
export async function probeNotifyUrl(
  notifyUrl: string,
  opts: NotifyProbeOptions = {},
): Promise<NotifyProbeResult> {
  const check = checkNotifyUrl(notifyUrl, { expectedPath: opts.expectedPath ?? CALLBACK_PATH });
  const url = safeUrl(notifyUrl);
  if (!check.ok && !opts.allowInsecure) {
    return {
      url,
      healthy: false,
      check,
      reachable: undefined,
      problem: check.problems.map((p) => p.message).join('; '),
    };
  }
  const doFetch = opts.fetch ?? fetch;
  const started = performance.now();
  try {
    const res = await doFetch(opts.probeUrl ?? notifyUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': NOTIFY_PROBE_USER_AGENT,
      },
      body: '{}',
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    const text = await res.text();
    const latencyMs = Math.round(performance.now() - started);
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    const gatewayRefusal =
      res.status >= 400 && res.status < 500 && res.status !== 404 && res.status !== 405 && code === 'FAIL';
    const reachable = (res.status >= 200 && res.status < 300) || gatewayRefusal;
    return {
      url,
      healthy: reachable,
      check,
      reachable,
      status: res.status,
      latencyMs,
      ...(reachable
        ? {}
        : {
            problem: `answered ${res.status} without the gateway's FAIL body: the route does not reach the gateway`,
          }),
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const name =
      (err as Error).name === 'TimeoutError'
        ? 'timed out'
        : (cause?.code ?? cause?.message ?? (err as Error).name);
    return {
      url,
      healthy: false,
      check,
      reachable: false,
      latencyMs: Math.round(performance.now() - started),
      problem: `could not reach it (${name})`,
    };
  }
}
