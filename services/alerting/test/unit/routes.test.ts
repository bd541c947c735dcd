import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { type Notice, parseRoutes, RoutesConfigError, routeNotice } from '../../src/index.ts';

const EXAMPLE = new URL('../../routes.example.yaml', import.meta.url);

const secrets = (env: Record<string, string>, files: Record<string, string> = {}) => ({
  env,
  readFile: (path: string) => {
    const v = files[path];
    if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return v;
  },
});

function notice(overrides: Partial<Notice> = {}): Notice {
  return {
    source: 'domain',
    status: 'firing',
    dedupeKey: 'k',
    type: 'missed_notification',
    severity: 'critical',
    summary: 's',
    details: {},
    producer: 'reconciler',
    startsAt: '2026-11-26T04:00:00Z',
    ...overrides,
  };
}

const YAML = `
channels:
  mail: { type: email, from: a@example.com, to: [b@example.com], smtp: { url: { env: SMTP_URL } } }
  ding: { type: dingtalk, url: { file: /run/ding-url }, secret: { file: /run/ding-secret } }
  wx: { type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }
routes:
  - match: { severity: [critical] }
    channels: [mail, ding]
    continue: true
  - match: { type: [missed_notification] }
    channels: [ding, wx]
    cooldown: 5m
  - match: { source: [alertmanager], labels: { team: payments } }
    channels: [wx]
    sendResolved: false
  - channels: [mail]
`;

const ok = secrets(
  { SMTP_URL: 'smtp://u:p@smtp.example.com:587' },
  {
    '/run/ding-url': 'https://oapi.dingtalk.com/robot/send?access_token=t\n',
    '/run/ding-secret': 'SECabc\n',
  },
);

describe('routes file in production mode', () => {
  const files = {
    '/run/smtp-url': 'smtp://u:smtp-password@smtp.example.com:587?requireTLS=true',
    '/run/ding-url': 'https://oapi.dingtalk.com/robot/send?access_token=t',
    '/run/wx-url': 'http://qyapi.example.com/send?key=wecom-key',
  };
  const prod = (env: Record<string, string> = {}) => ({ ...secrets(env, files), production: true });
  const text = (mail: string, wx = '{ file: /run/wx-url }') => `
channels:
  mail: { type: email, from: a@example.com, to: [b@example.com], smtp: ${mail} }
  ding: { type: dingtalk, url: { file: /run/ding-url } }
  wx: { type: wecom, url: ${wx} }
routes:
  - channels: [mail, ding, wx]
`;
  const problems = (yaml: string, env: Record<string, string> = {}) => {
    try {
      parseRoutes(yaml, 'r.yaml', prod(env));
      return [];
    } catch (err) {
      return [...(err as RoutesConfigError).issues];
    }
  };

  it('takes secrets from files only, robot URLs over https only, and SMTP over TLS only, naming the field, never the value', () => {
    const found = problems(
      text('{ url: { env: SMTP_URL } }', '"http://qyapi.example.com/send?key=inline-key"'),
      { SMTP_URL: 'smtp://u:env-password@smtp.example.com:587' },
    );
    expect(found).toEqual([
      expect.stringMatching(
        /^channels\.mail\.smtp\.url: a secret from the environment variable SMTP_URL is refused in production mode/,
      ),
      expect.stringMatching(/^channels\.wx\.url: a literal secret is refused in production mode/),
    ]);
    expect(problems(text('{ url: { file: /run/smtp-url } }'))).toEqual([
      'channels.wx.url: the WeCom robot URL must be an https URL in production mode',
    ]);
    expect(
      problems(text('{ host: smtp.example.com, port: 587, user: u, password: { file: /run/smtp-url } }')),
    ).toEqual(
      expect.arrayContaining([
        'channels.mail.smtp.user: a literal secret is refused in production mode: use { file: PATH }',
      ]),
    );
    files['/run/wx-url'] = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k';
    expect(problems(text('{ url: { file: /run/smtp-url } }'))).toEqual([]);
    files['/run/smtp-url'] = 'smtp://u:p@smtp.example.com:587';
    expect(problems(text('{ url: { file: /run/smtp-url } }'))).toEqual([
      'channels.mail.smtp: SMTP must use TLS in production mode: smtps://, ?requireTLS=true, secure or requireTLS',
    ]);
    const all = JSON.stringify(
      problems(text('{ url: { env: SMTP_URL } }', '"http://x/inline-key"'), { SMTP_URL: 'env-password' }),
    );
    for (const value of ['env-password', 'inline-key', 'smtp-password']) expect(all).not.toContain(value);
  });
});

describe('routes file', () => {
  it('validates the example shipped with the service', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const env = {
      ALERTING_SMTP_URL: 'smtps://u:p@smtp.example.com:465',
      ALERTING_TICKETS_URL: 'https://tickets.example.com/hook',
      ALERTING_TICKETS_AUTHORIZATION: 'Bearer x',
      ALERTING_TICKETS_SIGNING_SECRET: 'y',
    };
    const files = {
      '/var/run/secrets/paysync-alerting/dingtalk-url': 'https://oapi.dingtalk.com/robot/send?access_token=t',
      '/var/run/secrets/paysync-alerting/dingtalk-secret': 'SECx',
      '/var/run/secrets/paysync-alerting/wecom-url': 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k',
    };
    const routes = parseRoutes(text, 'routes.example.yaml', secrets(env, files));
    expect(Object.keys(routes.channels)).toEqual([
      'sre-email',
      'payments-dingtalk',
      'payments-wecom',
      'tickets',
    ]);
    expect(routes.defaults).toEqual({ locale: 'zh+en', cooldown: 30 * 60_000, sendResolved: true });
  });

  it('resolves secrets from the environment and from files, dropping a trailing newline', () => {
    const routes = parseRoutes(YAML, 'r.yaml', ok);
    const ding = routes.channels.ding;
    expect(ding?.type === 'dingtalk' && ding.url).toBe('https://oapi.dingtalk.com/robot/send?access_token=t');
    expect(ding?.type === 'dingtalk' && ding.secret).toBe('SECabc');
    const mail = routes.channels.mail;
    expect(mail?.type === 'email' && mail.smtp).toEqual({ url: 'smtp://u:p@smtp.example.com:587' });
  });

  it('reports every problem at once, by path, naming variables and files but never secret values', () => {
    const bad = `
channels:
  mail: { type: email, from: a@example.com, to: [not-an-address], smtp: { url: { env: SMTP_URL } } }
  ding: { type: dingtalk, url: { env: DING_URL } }
  Bad Name: { type: wecom, url: "x" }
routes:
  - channels: [mail, nowhere]
`;
    let error: unknown;
    try {
      parseRoutes(bad, 'bad.yaml', secrets({ DING_URL: 'ftp://secret-token-value' }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RoutesConfigError);
    const issues = (error as RoutesConfigError).issues.join('\n');
    expect(issues).toContain('channels.mail.to.0');
    expect(issues).toContain('environment variable SMTP_URL is not set');
    expect(issues).toContain('channels.ding.url: the DingTalk robot URL must be an http(s) URL');
    expect((error as Error).message).not.toContain('secret-token-value');
  });

  it('refuses channel names that cannot be metric labels and routes to channels that do not exist', () => {
    const text = `
channels:
  Bad Name: { type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k" }
routes:
  - channels: [Bad Name, nowhere]
`;
    expect(() => parseRoutes(text, 'x.yaml', ok)).toThrow(/channels.Bad Name: channel names are 1-63/);
    expect(() => parseRoutes(text, 'x.yaml', ok)).toThrow(/routes.0.channels.1: unknown channel "nowhere"/);
  });

  it('refuses YAML that is not valid or has duplicate keys', () => {
    expect(() => parseRoutes('channels: [', 'x.yaml', ok)).toThrow(RoutesConfigError);
    expect(() => parseRoutes('routes: []\nroutes: []', 'x.yaml', ok)).toThrow(/not YAML/);
  });

  it('routes like Alertmanager: first match decides unless it continues', () => {
    const routes = parseRoutes(YAML, 'r.yaml', ok);
    const names = (n: Notice) => routeNotice(routes, n).map((t) => `${t.channel}:${t.cooldownMs}`);
    // critical continues into the missed_notification route; ding keeps the first route's cooldown.
    expect(names(notice())).toEqual(['mail:1800000', 'ding:1800000', 'wx:300000']);
    expect(names(notice({ severity: 'warning' }))).toEqual(['ding:300000', 'wx:300000']);
    expect(names(notice({ severity: 'warning', type: 'late_payment' }))).toEqual(['mail:1800000']);
    const am = notice({
      source: 'alertmanager',
      severity: 'warning',
      type: 'PaysyncLedgerConsumerLag',
      details: { team: 'payments' },
    });
    expect(names(am)).toEqual(['wx:1800000']);
    expect(names({ ...am, status: 'resolved' })).toEqual([]);
    expect(names({ ...am, details: { team: 'other' } })).toEqual(['mail:1800000']);
  });
});
