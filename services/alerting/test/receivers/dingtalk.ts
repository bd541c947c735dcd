import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Fault, type HttpReceiver, parseJson, startHttpReceiver } from './http-receiver.ts';

export type DingtalkMessage = { title: string; text: string; at: unknown; receivedAt: number };

export type DingtalkReceiver = {
  /** The robot URL to configure (with its access token). */
  url: string;
  messages: DingtalkMessage[];
  /** Requests refused, with DingTalk's errcode, so tests can see a bad signature. */
  refusals: { errcode: number; errmsg: string }[];
  setFault(fault: Fault): Promise<void>;
  close(): Promise<void>;
};

/**
 * A DingTalk custom robot (自定义机器人) with 加签 on: it checks what DingTalk checks —
 * `access_token`, `timestamp` in milliseconds within one hour of now, and
 * `sign` = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)) — then the markdown body
 * `{"msgtype":"markdown","markdown":{"title","text"}}`. Like DingTalk it answers HTTP 200 with
 * `{"errcode":0,"errmsg":"ok"}`, or a non-zero errcode when it refuses.
 */
export async function startDingtalkReceiver(opts: {
  accessToken: string;
  secret: string;
}): Promise<DingtalkReceiver> {
  const messages: DingtalkMessage[] = [];
  const refusals: { errcode: number; errmsg: string }[] = [];
  const refuse = (errcode: number, errmsg: string) => {
    refusals.push({ errcode, errmsg });
    return { status: 200, body: { errcode, errmsg } };
  };
  const receiver: HttpReceiver = await startHttpReceiver((req, url, body) => {
    if (req.method !== 'POST' || url.pathname !== '/robot/send')
      return { status: 404, body: { errcode: 404 } };
    if (url.searchParams.get('access_token') !== opts.accessToken)
      return refuse(300001, 'token is not exist');
    const timestamp = url.searchParams.get('timestamp') ?? '';
    const sign = url.searchParams.get('sign') ?? '';
    if (!/^\d{13}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > 3_600_000) {
      return refuse(310000, 'invalid timestamp');
    }
    const expected = createHmac('sha256', opts.secret).update(`${timestamp}\n${opts.secret}`).digest();
    const given = Buffer.from(sign, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return refuse(310000, 'sign not match');
    }
    if (!/^application\/json/.test(req.headers['content-type'] ?? ''))
      return refuse(43004, 'invalid content-type');
    const json = parseJson(body) as {
      msgtype?: unknown;
      markdown?: { title?: unknown; text?: unknown };
      at?: unknown;
    };
    if (json?.msgtype !== 'markdown') return refuse(40035, 'msgtype missing or not markdown');
    const { title, text } = json.markdown ?? {};
    if (typeof title !== 'string' || title === '' || typeof text !== 'string' || text === '') {
      return refuse(40035, 'markdown.title and markdown.text are required');
    }
    messages.push({ title, text, at: json.at, receivedAt: Date.now() });
    return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
  });
  return {
    url: `${receiver.url}/robot/send?access_token=${opts.accessToken}`,
    messages,
    refusals,
    setFault: receiver.setFault,
    close: receiver.close,
  };
}
