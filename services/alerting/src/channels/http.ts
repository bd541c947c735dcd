import { ChannelError } from '../errors.ts';

export type HttpAnswer = { status: number; body: string };

/** The host of a URL, for log lines (the path and query may hold a token). */
export function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs JSON and returns the status and body (at most 64 KiB kept). Network errors, timeouts and
 * non-2xx answers become ChannelErrors whose messages hold no URL.
 */
export async function postJson(
  channel: string,
  url: string,
  body: string,
  opts: { signal: AbortSignal; headers?: Record<string, string> },
): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(opts.headers ?? {}) },
      body,
      redirect: 'error',
      signal: opts.signal,
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new ChannelError(channel, 'TIMEOUT', 'no answer in time');
    }
    throw new ChannelError(channel, 'NETWORK', `network error ${e.cause?.code ?? e.name}`);
  }
  let text: string;
  try {
    text = (await res.text()).slice(0, 65_536);
  } catch {
    throw new ChannelError(channel, 'NETWORK', `answer ${res.status} could not be read`);
  }
  if (res.status < 200 || res.status >= 300) {
    throw new ChannelError(channel, `HTTP_${res.status}`, `answered HTTP ${res.status}`);
  }
  return { status: res.status, body: text };
}

/** DingTalk and WeCom answer HTTP 200 with `{errcode, errmsg}`; anything but errcode 0 is a failure. */
export function checkErrcode(channel: string, prefix: string, answer: HttpAnswer): void {
  let parsed: { errcode?: unknown; errmsg?: unknown };
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    throw new ChannelError(channel, `${prefix}_BAD_ANSWER`, 'answer is not JSON');
  }
  if (parsed.errcode === 0) return;
  const code = typeof parsed.errcode === 'number' ? parsed.errcode : 'missing';
  const msg = typeof parsed.errmsg === 'string' ? parsed.errmsg.slice(0, 120) : '';
  throw new ChannelError(channel, `${prefix}_${code}`, `errcode ${code}${msg ? ` (${msg})` : ''}`);
}
