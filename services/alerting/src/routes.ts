import { readFileSync } from 'node:fs';
import { durationMsFromEnv } from '@paysync/config';
import { alertSeverity } from '@paysync/contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RoutesConfigError } from './errors.ts';
import { type Notice, noticeSource } from './notice.ts';
import { processSecrets, resolveSecret, type SecretSource, secretRef } from './secrets.ts';

// The routes file (ALERTING_ROUTES_FILE, YAML or JSON): which channels exist and which alerts go
// where. Routes are walked in order like Alertmanager's: the first that matches decides, unless it
// says `continue: true`. See services/alerting/README.md for an example.

export const LOCALES = ['zh', 'en', 'zh+en', 'en+zh'] as const;
export type Locale = (typeof LOCALES)[number];

const duration = z.string().pipe(durationMsFromEnv);
export const channelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'channel names are 1-63 of a-z 0-9 _ - (a metric label)' });

/** An http(s) URL; https only in production mode (a robot URL carries its token). */
function httpUrl(what: string, production: boolean) {
  return z.string().refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'https:' || (u.protocol === 'http:' && !production);
      } catch {
        return false;
      }
    },
    {
      message: production
        ? `${what} must be an https URL in production mode`
        : `${what} must be an http(s) URL`,
    },
  );
}

/** Builds the schema with a resolver, so a missing secret is reported with its path like any other issue. */
function schemaWith(secrets: SecretSource) {
  const secret = secretRef.transform((ref, ctx) => {
    try {
      return resolveSecret(ref, secrets);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
  const secretUrl = (what: string) => secret.pipe(httpUrl(what, secrets.production === true));
  const common = {
    locale: z.enum(LOCALES).optional(),
    /** Messages per minute this channel may send (DingTalk and WeCom robots allow 20). */
    rateLimitPerMinute: z.number().int().min(1).max(6000).optional(),
    /** Deliveries due together on this channel that may share one message. */
    batchMax: z.number().int().min(1).max(50).optional(),
  };
  const email = z.strictObject({
    type: z.literal('email'),
    from: z.string().min(3),
    to: z.array(z.email()).min(1),
    cc: z.array(z.email()).default([]),
    subjectPrefix: z.string().max(64).default('[paysync]'),
    /** Either `url` (smtp://user:pass@host:587, smtps://…:465) or host and port with optional credentials. */
    smtp: z
      .strictObject({
        url: secret
          .pipe(z.string().regex(/^smtps?:\/\//, { message: 'expected an smtp:// or smtps:// URL' }))
          .optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        secure: z.boolean().default(false),
        requireTLS: z.boolean().default(false),
        user: secret.optional(),
        password: secret.optional(),
      })
      .refine((s) => (s.url !== undefined) !== (s.host !== undefined && s.port !== undefined), {
        message: 'give either url, or host and port',
      })
      // Production mode never sends mail (and the SMTP password) in clear: implicit TLS (smtps,
      // secure) or STARTTLS insisted on (requireTLS), never opportunistic.
      .refine(
        (s) =>
          !secrets.production ||
          (s.url !== undefined
            ? s.url.startsWith('smtps://') || /[?&]requireTLS=true(&|$)/.test(s.url)
            : s.secure || s.requireTLS),
        { message: 'SMTP must use TLS in production mode: smtps://, ?requireTLS=true, secure or requireTLS' },
      )
      .transform((s) =>
        s.url !== undefined
          ? { url: s.url }
          : {
              host: s.host as string,
              port: s.port as number,
              secure: s.secure,
              requireTLS: s.requireTLS,
              user: s.user,
              password: s.password,
            },
      ),
    ...common,
  });
  const dingtalk = z.strictObject({
    type: z.literal('dingtalk'),
    /** https://oapi.dingtalk.com/robot/send?access_token=… (the token makes it a secret). */
    url: secretUrl('the DingTalk robot URL'),
    /** The robot's signing secret (SEC…), when 加签 is on. */
    secret: secret.optional(),
    /** Mobile numbers to @ on critical alerts. */
    atMobiles: z.array(z.string().regex(/^\+?[0-9-]{5,20}$/)).default([]),
    ...common,
  });
  const wecom = z.strictObject({
    type: z.literal('wecom'),
    /** https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… */
    url: secretUrl('the WeCom robot URL'),
    ...common,
  });
  const webhook = z.strictObject({
    type: z.literal('webhook'),
    url: secretUrl('the webhook URL'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), secret).default({}),
    /** When set, every request carries X-Paysync-Signature: sha256=HMAC(secret, timestamp.body). */
    signingSecret: secret.optional(),
    ...common,
  });
  const channel = z.discriminatedUnion('type', [email, dingtalk, wecom, webhook]);
  const route = z.strictObject({
    name: z.string().max(128).optional(),
    match: z
      .strictObject({
        type: z.array(z.string().min(1)).min(1).optional(),
        severity: z.array(alertSeverity).min(1).optional(),
        source: z.array(noticeSource).min(1).optional(),
        labels: z.record(z.string(), z.string()).optional(),
      })
      .default({}),
    channels: z.array(z.string().min(1)),
    continue: z.boolean().default(false),
    cooldown: duration.optional(),
    sendResolved: z.boolean().optional(),
  });
  return z
    .strictObject({
      defaults: z
        .strictObject({
          locale: z.enum(LOCALES).default('zh+en'),
          cooldown: duration.default(30 * 60_000),
          sendResolved: z.boolean().default(true),
        })
        .default({ locale: 'zh+en', cooldown: 30 * 60_000, sendResolved: true }),
      channels: z.record(z.string(), channel),
      routes: z.array(route).min(1),
    })
    .superRefine((file, ctx) => {
      for (const name of Object.keys(file.channels)) {
        const ok = channelName.safeParse(name);
        if (!ok.success) {
          ctx.addIssue({
            code: 'custom',
            path: ['channels', name],
            message: ok.error.issues[0]?.message ?? 'bad name',
          });
        }
      }
      file.routes.forEach((r, i) => {
        r.channels.forEach((c, j) => {
          if (!(c in file.channels)) {
            ctx.addIssue({
              code: 'custom',
              path: ['routes', i, 'channels', j],
              message: `unknown channel "${c}"`,
            });
          }
        });
      });
    });
}

type Schema = ReturnType<typeof schemaWith>;
export type RoutesFile = z.output<Schema>;
export type ChannelConfig = RoutesFile['channels'][string];
export type RouteConfig = RoutesFile['routes'][number];

/** Parses and validates routes (YAML or JSON text); secrets are resolved from `secrets`. */
export function parseRoutes(text: string, file: string, secrets: SecretSource = processSecrets): RoutesFile {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new RoutesConfigError(file, [`not YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  const result = schemaWith(secrets).safeParse(raw);
  if (result.success) return result.data;
  throw new RoutesConfigError(
    file,
    result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
  );
}

export function loadRoutes(file: string, secrets: SecretSource = processSecrets): RoutesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoutesConfigError(file, [`cannot be read (${(err as { code?: string }).code ?? 'error'})`]);
  }
  return parseRoutes(text, file, secrets);
}

/** A channel a notice goes to, with the route's cooldown and resolved-notice setting. */
export type Target = { channel: string; cooldownMs: number; sendResolved: boolean };

function matches(route: RouteConfig, n: Notice): boolean {
  const m = route.match;
  if (m.type && !m.type.includes(n.type)) return false;
  if (m.severity && !m.severity.includes(n.severity)) return false;
  if (m.source && !m.source.includes(n.source)) return false;
  if (m.labels) {
    for (const [k, v] of Object.entries(m.labels)) {
      const got = n.details[k];
      if (got === undefined || got === null || String(got) !== v) return false;
    }
  }
  return true;
}

/** The channels a notice goes to: routes in order, first match decides unless it continues. */
export function routeNotice(routes: RoutesFile, n: Notice): Target[] {
  const targets = new Map<string, Target>();
  for (const route of routes.routes) {
    if (!matches(route, n)) continue;
    for (const channel of route.channels) {
      if (targets.has(channel)) continue;
      targets.set(channel, {
        channel,
        cooldownMs: route.cooldown ?? routes.defaults.cooldown,
        sendResolved: route.sendResolved ?? routes.defaults.sendResolved,
      });
    }
    if (!route.continue) break;
  }
  return [...targets.values()].filter((t) => n.status === 'firing' || t.sendResolved);
}
