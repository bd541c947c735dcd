import { type Fault, type HttpReceiver, parseJson, startHttpReceiver } from './http-receiver.ts';

export type WecomMessage = { content: string; receivedAt: number };

export type WecomReceiver = {
  url: string;
  messages: WecomMessage[];
  refusals: { errcode: number; errmsg: string }[];
  setFault(fault: Fault): Promise<void>;
  close(): Promise<void>;
};

/**
 * A WeCom group robot (群机器人): `POST /cgi-bin/webhook/send?key=…` with
 * `{"msgtype":"markdown","markdown":{"content"}}`, content at most 4096 bytes of UTF-8; answers
 * `{"errcode":0,"errmsg":"ok"}`, or WeCom's errcode when it refuses.
 */
export async function startWecomReceiver(opts: { key: string }): Promise<WecomReceiver> {
  const messages: WecomMessage[] = [];
  const refusals: { errcode: number; errmsg: string }[] = [];
  const refuse = (errcode: number, errmsg: string) => {
    refusals.push({ errcode, errmsg });
    return { status: 200, body: { errcode, errmsg } };
  };
  const receiver: HttpReceiver = await startHttpReceiver((req, url, body) => {
    if (req.method !== 'POST' || url.pathname !== '/cgi-bin/webhook/send') return { status: 404, body: {} };
    if (url.searchParams.get('key') !== opts.key) return refuse(93000, 'invalid webhook url');
    const json = parseJson(body) as { msgtype?: unknown; markdown?: { content?: unknown } };
    if (json === undefined) return refuse(40001, 'invalid json');
    if (json.msgtype !== 'markdown') return refuse(40008, 'invalid message type');
    const content = json.markdown?.content;
    if (typeof content !== 'string' || content === '') return refuse(44004, 'empty content');
    if (Buffer.byteLength(content, 'utf8') > 4096)
      return refuse(40058, 'markdown.content exceed max length 4096');
    messages.push({ content, receivedAt: Date.now() });
    return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
  });
  return {
    url: `${receiver.url}/cgi-bin/webhook/send?key=${opts.key}`,
    messages,
    refusals,
    setFault: receiver.setFault,
    close: receiver.close,
  };
}
