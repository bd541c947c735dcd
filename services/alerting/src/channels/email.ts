import nodemailer from 'nodemailer';
import { ChannelError } from '../errors.ts';
import type { Notice } from '../notice.ts';
import type { Locale } from '../routes.ts';
import { renderEmail } from '../templates/render.ts';
import type { Channel } from './types.ts';

export type SmtpSettings =
  | { url: string }
  | {
      host: string;
      port: number;
      secure: boolean;
      requireTLS: boolean;
      user?: string | undefined;
      password?: string | undefined;
    };

type SmtpHost = Exclude<SmtpSettings, { url: string }>;

/** smtp://user:pass@host:587 (STARTTLS when offered; ?requireTLS=true to insist) or smtps://host:465. */
export function smtpFromUrl(url: string): SmtpHost {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    requireTLS: u.searchParams.get('requireTLS') === 'true',
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

function smtpHost(smtp: SmtpSettings): string {
  if ('host' in smtp) return `${smtp.host}:${smtp.port}`;
  try {
    const u = new URL(smtp.url);
    return u.host;
  } catch {
    return '(invalid URL)';
  }
}

/** nodemailer's errors carry a `code` (EAUTH, ECONNECTION, ETIMEDOUT, EENVELOPE…) and the SMTP reply code. */
function smtpError(channel: string, err: unknown): ChannelError {
  const e = err as { code?: string; responseCode?: number; command?: string };
  const code = e.code ?? 'ESMTP';
  const reply = e.responseCode ? ` reply ${e.responseCode}` : '';
  const command = e.command ? ` to ${e.command.split(' ')[0]}` : '';
  return new ChannelError(channel, `SMTP_${code}`, `SMTP ${code}${reply}${command}`);
}

/** Email over SMTP with nodemailer: one message per batch, plain text and HTML. */
export function createEmailChannel(opts: {
  name: string;
  smtp: SmtpSettings;
  from: string;
  to: readonly string[];
  cc: readonly string[];
  subjectPrefix: string;
  locale: Locale;
  timeoutMs: number;
}): Channel {
  const timeouts = {
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
  };
  const smtp = 'url' in opts.smtp ? smtpFromUrl(opts.smtp.url) : opts.smtp;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    ...timeouts,
  });
  return {
    name: opts.name,
    kind: 'email',
    target: `email ${smtpHost(opts.smtp)} (${opts.to.length + opts.cc.length} recipients)`,
    async send(notices: readonly Notice[], signal: AbortSignal) {
      const { subject, text, html } = renderEmail(notices, {
        locale: opts.locale,
        subjectPrefix: opts.subjectPrefix,
      });
      if (signal.aborted) throw new ChannelError(opts.name, 'TIMEOUT', 'no answer in time');
      try {
        await transport.sendMail({
          from: opts.from,
          to: [...opts.to],
          ...(opts.cc.length > 0 ? { cc: [...opts.cc] } : {}),
          subject,
          text,
          html,
          headers: {
            'X-Paysync-Dedupe-Keys': notices
              .map((n) => n.dedupeKey)
              .join(', ')
              .slice(0, 900),
          },
        });
      } catch (err) {
        throw smtpError(opts.name, err);
      }
    },
    close: async () => {
      transport.close();
    },
  };
}
