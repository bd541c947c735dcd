import { checkNotifyUrl, type NotifyUrlCheck, type NotifyUrlProblem } from '@paysync/wechatpay';

/** The route WeChat Pay posts APIv3 notifications to (the path the merchant registered). */
export const CALLBACK_PATH = '/api/payment/wechat/callback';
/** The APIv2 (XML) notification route. */
export const CALLBACK_V2_PATH = '/api/payment/wechat/callback/v2';

/** How to fix each problem `checkNotifyUrl` (the shared rules in @paysync/wechatpay) reports. */
const FIXES: Record<NotifyUrlProblem['code'], string> = {
  NOT_A_URL: `set it to https://<public host of the ingress>${CALLBACK_PATH}`,
  NOT_HTTPS: 'terminate TLS at the ingress and use its https URL',
  LOCAL_HOST:
    'use the public DNS name of the ingress that routes to the gateway, e.g. https://pay.example.com',
  PRIVATE_ADDRESS: 'use the public DNS name of the ingress that routes to the gateway',
  HAS_QUERY: 'remove everything from "?" on',
  HAS_FRAGMENT: 'remove everything from "#" on',
  HAS_CREDENTIALS: 'remove user:password@ — the callback needs no login',
  TOO_LONG: 'shorten the URL to at most 256 characters (a shorter host or path)',
  WRONG_PATH: `set the path to ${CALLBACK_PATH} and route it through the ingress unchanged`,
};

/** The gateway's notify URL against WeChat's rules, with the callback route as the required path. */
export function checkGatewayNotifyUrl(url: string): NotifyUrlCheck {
  return checkNotifyUrl(url, { expectedPath: CALLBACK_PATH });
}

function httpUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The URL as it may be logged: credentials removed; anything but an http(s) URL not repeated at all. */
export function loggableUrl(raw: string): string {
  const url = httpUrl(raw);
  if (!url) return '(not an http(s) URL)';
  url.username = '';
  url.password = '';
  return url.toString();
}

/** One readable paragraph: what is wrong with the notify URL and how to fix each problem. */
export function describeNotifyUrlProblems(variable: string, raw: string, check: NotifyUrlCheck): string {
  // The library's messages quote host and path: fine for an http(s) URL (shown above them anyway),
  // not for arbitrary input, which may be a secret pasted into the wrong variable.
  const quote = httpUrl(raw) !== undefined;
  const lines = check.problems.map((p) => {
    const message = quote ? p.message : `the value is not an http(s) URL (${p.code})`;
    return `  - ${message}. Fix: ${FIXES[p.code]}.`;
  });
  return [`${variable}=${loggableUrl(raw)} cannot receive WeChat Pay notifications:`, ...lines].join('\n');
}
