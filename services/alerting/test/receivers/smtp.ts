import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = {
  /** The SMTP envelope: what MAIL FROM and RCPT TO said (not the headers). */
  envelope: { from: string; to: string[] };
  user: string | undefined;
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
};

export type SmtpReceiver = {
  host: string;
  port: number;
  mails: ReceivedMail[];
  /** Temporarily refuse every message with 451 (a mail server in trouble). */
  setFailing(failing: boolean): void;
  close(): Promise<void>;
};

/**
 * A local SMTP server (smtp-server, nodemailer's own) that requires AUTH PLAIN/LOGIN with the given
 * credentials, records each message's envelope and parses it with mailparser.
 */
export async function startSmtpReceiver(opts: { user: string; pass: string }): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  let failing = false;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === opts.user && auth.password === opts.pass)
        return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onMailFrom(_address, session, callback) {
      if (!session.user)
        return callback(Object.assign(new Error('Authentication required'), { responseCode: 530 }));
      if (failing) return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      return callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mails.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            user: typeof session.user === 'string' ? session.user : undefined,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            headers: parsed.headers as Map<string, unknown>,
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    mails,
    setFailing(f) {
      failing = f;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
