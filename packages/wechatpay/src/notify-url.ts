import { isIP } from 'node:net';

/** Why a notify URL cannot work: WeChat Pay must reach it from the internet, over https. */
/**
 * The User-Agent of paysync's own notify-URL probe (an unsigned POST the gateway must refuse with
 * its FAIL body). The gateway logs such a refusal as a probe rather than a warning; the answer is
 * the same 400 as for any unsigned request, so sending this header gains a caller nothing.
 */
export const NOTIFY_PROBE_USER_AGENT = 'paysync-notify-probe';

export type NotifyUrlProblem = {
  code:
    | 'NOT_A_URL'
    | 'NOT_HTTPS'
    | 'LOCAL_HOST'
    | 'PRIVATE_ADDRESS'
    | 'HAS_QUERY'
    | 'HAS_FRAGMENT'
    | 'HAS_CREDENTIALS'
    | 'TOO_LONG'
    | 'WRONG_PATH';
  message: string;
};

export type NotifyUrlCheck = { ok: boolean; problems: NotifyUrlProblem[] };

const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$/i;
const LOCAL_SUFFIXES = /\.(localhost|local|internal|lan|home|corp|intranet|cluster\.local|svc)$/i;

function privateIPv4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // 192.0.0.0/24 protocol assignments, 192.0.2.0/24 documentation
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51) || // 198.51.100.0/24 documentation
    (a === 203 && b === 0) || // 203.0.113.0/24 documentation
    a >= 224 // multicast and reserved
  );
}

function privateIPv6(ip: string): boolean {
  const v = ip.toLowerCase();
  if (v === '::' || v === '::1') return true;
  if (/^f[cd]/.test(v)) return true; // unique local fc00::/7
  if (/^fe[89ab]/.test(v)) return true; // link-local fe80::/10
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
  if (dotted) return privateIPv4(dotted[1] as string);
  // IPv4-mapped addresses as the URL parser normalises them: ::ffff:c0a8:1
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v);
  if (hex) {
    const hi = Number.parseInt(hex[1] as string, 16);
    const lo = Number.parseInt(hex[2] as string, 16);
    return privateIPv4(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return false;
}

/**
 * Checks a notify URL against what WeChat Pay requires (docs/WECHATPAY.md): https, a host WeChat
 * can reach from the internet (not localhost, loopback, private, link-local or a local-only
 * name), no query string, and — when given — the path of paysync's callback route. This is the
 * check that would have caught the incident's `localhost` notify URL.
 */
export function checkNotifyUrl(raw: string, opts: { expectedPath?: string } = {}): NotifyUrlCheck {
  const problems: NotifyUrlProblem[] = [];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The input is not echoed: a mistyped URL may carry credentials.
    return {
      ok: false,
      problems: [{ code: 'NOT_A_URL', message: 'the notify URL is not an absolute https:// URL' }],
    };
  }
  if (raw.length > 256) {
    problems.push({
      code: 'TOO_LONG',
      message: `WeChat Pay accepts notify URLs of at most 256 characters; this one has ${raw.length}`,
    });
  }
  if (url.protocol !== 'https:') {
    problems.push({
      code: 'NOT_HTTPS',
      message: `WeChat Pay only notifies https URLs; this one is ${url.protocol}//`,
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ipVersion = isIP(host);
  if (LOCAL_NAMES.test(host) || LOCAL_SUFFIXES.test(host) || (ipVersion === 0 && !host.includes('.'))) {
    problems.push({
      code: 'LOCAL_HOST',
      message: `host "${host}" is only reachable from inside your network; use the public host of your ingress`,
    });
  } else if ((ipVersion === 4 && privateIPv4(host)) || (ipVersion === 6 && privateIPv6(host))) {
    problems.push({
      code: 'PRIVATE_ADDRESS',
      message: `address ${host} is loopback, private or link-local; WeChat Pay cannot reach it from the internet`,
    });
  }
  if (url.search !== '') {
    problems.push({ code: 'HAS_QUERY', message: 'WeChat Pay requires a notify URL without a query string' });
  }
  if (url.hash !== '')
    problems.push({ code: 'HAS_FRAGMENT', message: 'a notify URL cannot carry a #fragment' });
  if (url.username !== '' || url.password !== '') {
    problems.push({
      code: 'HAS_CREDENTIALS',
      message: 'WeChat Pay cannot log in: remove user:password from the URL',
    });
  }
  if (opts.expectedPath !== undefined && url.pathname !== opts.expectedPath) {
    problems.push({
      code: 'WRONG_PATH',
      message: `path is ${url.pathname} but paysync receives notifications at ${opts.expectedPath}`,
    });
  }
  return { ok: problems.length === 0, problems };
}
