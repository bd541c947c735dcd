// Local stand-ins for the places alerts go: a mail server and DingTalk / WeCom group robots that
// print what they receive into the combined log. The robots check what the real ones check (the
// DingTalk access token and 加签 signature, the WeCom key, the markdown body) and answer in their
// format, so a misconfigured channel shows up here as it would in production.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { HOST } from './config.ts';
import type { CombinedLog } from './log.ts';

export type SinkMessage = { channel: 'mail' | 'dingtalk' | 'wecom'; title: string; text: string; at: Date };

export type Sinks = {
  smtpUrl: string;
  dingtalkUrl: string;
  wecomUrl: string;
  messages: SinkMessage[];
  close(): Promise<void>;
};

const SHOWN_LINES = 12;

function show(log: CombinedLog, m: SinkMessage): void {
  const lines = m.text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && l !== '---');
  const head = lines.slice(0, SHOWN_LINES).map((l) => `    ${l}`);
  const more = lines.length > SHOWN_LINES ? [`    … ${lines.length - SHOWN_LINES} more lines`] : [];
  const icon = m.channel === 'mail' ? '✉' : '🤖';
  log.block(m.channel, [`${icon} ${m.title}`, ...head, ...more]);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function signatureOk(secret: string, timestamp: string, sign: string): boolean {
  if (!/^\d{13}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > 3_600_000) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest();
  const given = Buffer.from(sign, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startSinks(
  log: CombinedLog,
  opts: {
    smtpPort: number;
    robotsPort: number;
    dingtalk: { accessToken: string; secret: string };
    wecomKey: string;
  },
): Promise<Sinks> {
  const messages: SinkMessage[] = [];
  const received = (m: SinkMessage) => {
    messages.push(m);
    if (messages.length > 1000) messages.shift();
    show(log, m);
  };

  const smtp = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
          received({
            channel: 'mail',
            title: `to ${to}: ${mail.subject ?? '(no subject)'}`,
            text: mail.text ?? '',
            at: new Date(),
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  smtp.on('error', (err) => log.note('mail', `SMTP sink: ${err.message}`, 'warn'));
  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(opts.smtpPort, HOST, () => resolve());
  });

  const robots: Server = createServer((req, res) => {
    const answer = (errcode: number, errmsg: string) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode, errmsg }));
      if (errcode !== 0)
        log.note(req.url?.startsWith('/dingtalk') ? 'dingtalk' : 'wecom', `refused: ${errmsg}`, 'warn');
    };
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? '/', `http://${HOST}`);
      let json: { msgtype?: string; markdown?: { title?: string; text?: string; content?: string } } = {};
      try {
        json = JSON.parse(body) as typeof json;
      } catch {
        return answer(40001, 'invalid json');
      }
      if (req.method === 'POST' && url.pathname === '/dingtalk/robot/send') {
        if (url.searchParams.get('access_token') !== opts.dingtalk.accessToken)
          return answer(300001, 'token is not exist');
        if (
          !signatureOk(
            opts.dingtalk.secret,
            url.searchParams.get('timestamp') ?? '',
            url.searchParams.get('sign') ?? '',
          )
        )
          return answer(310000, 'sign not match');
        if (json.msgtype !== 'markdown' || !json.markdown?.title || !json.markdown.text)
          return answer(40035, 'markdown.title and markdown.text are required');
        received({
          channel: 'dingtalk',
          title: json.markdown.title,
          text: json.markdown.text,
          at: new Date(),
        });
        return answer(0, 'ok');
      }
      if (req.method === 'POST' && url.pathname === '/wecom/cgi-bin/webhook/send') {
        if (url.searchParams.get('key') !== opts.wecomKey) return answer(93000, 'invalid webhook url');
        const content = json.markdown?.content;
        if (json.msgtype !== 'markdown' || !content) return answer(44004, 'empty content');
        if (Buffer.byteLength(content, 'utf8') > 4096)
          return answer(40058, 'markdown.content exceed max length 4096');
        const [first = '', ...rest] = content.split('\n');
        received({ channel: 'wecom', title: first, text: rest.join('\n'), at: new Date() });
        return answer(0, 'ok');
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    robots.once('error', reject);
    robots.listen(opts.robotsPort, HOST, () => resolve());
  });

  const base = `http://${HOST}:${opts.robotsPort}`;
  return {
    smtpUrl: `smtp://${HOST}:${opts.smtpPort}`,
    dingtalkUrl: `${base}/dingtalk/robot/send?access_token=${opts.dingtalk.accessToken}`,
    wecomUrl: `${base}/wecom/cgi-bin/webhook/send?key=${opts.wecomKey}`,
    messages,
    async close() {
      robots.closeAllConnections();
      await new Promise<void>((resolve) => robots.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
