import { describe, expect, it } from '@jest/globals';
import { type Notice, renderEmail, renderMarkdown, truncateUtf8 } from '../../src/index.ts';

const base: Notice = {
  source: 'domain',
  status: 'firing',
  dedupeKey: 'missed_notification:RECHARGE_ORDER_20261126_0001',
  type: 'missed_notification',
  severity: 'critical',
  outTradeNo: 'RECHARGE_ORDER_20261126_0001',
  summary: 'WeChat reports RECHARGE_ORDER_20261126_0001 paid 540 s ago but no notification settled it',
  details: {
    delay_seconds: 540,
    notify_url: 'https://pay.example.com/api/payment/wechat/callback',
    none: null,
  },
  producer: 'reconciler',
  startsAt: '2026-11-26T04:00:02.000Z',
  runbookUrl: 'https://runbooks.example.com/missed-notifications.md',
};

describe('message templates', () => {
  it('says what happened, to which order, what was seen and where the runbook is, in Chinese then English', () => {
    const { title, text } = renderMarkdown([base], {
      locale: 'zh+en',
      style: { lineBreak: '\n' },
      maxBytes: 4096,
    });
    expect(title).toBe(
      '【严重】告警 支付通知丢失（对账发现已支付） / Missed payment notification RECHARGE_ORDER_20261126_0001',
    );
    const zh = text.indexOf('### 【严重】告警 · 支付通知丢失');
    const en = text.indexOf('### [CRITICAL] FIRING · Missed payment notification');
    expect(zh).toBeGreaterThanOrEqual(0);
    expect(en).toBeGreaterThan(zh);
    expect(text).toContain('**订单号**: `RECHARGE_ORDER_20261126_0001`');
    expect(text).toContain('- delay_seconds: 540');
    expect(text).not.toContain('none:');
    expect(text).toContain('**发生时间**: 2026-11-26 12:00:02 (UTC+8)');
    expect(text).toContain('**Started**: 2026-11-26 04:00:02 UTC');
    expect(text).toContain(
      '**处理手册**: [missed-notifications](https://runbooks.example.com/missed-notifications.md)',
    );
  });

  it('uses the Chinese annotations of a rule when the message is in Chinese', () => {
    const n: Notice = {
      ...base,
      source: 'alertmanager',
      type: 'PaysyncLatePayments',
      summary: 'Late payments',
      summaryZh: '订单失效后到账 2 笔',
    };
    const zh = renderMarkdown([n], { locale: 'zh', style: { lineBreak: '\n' }, maxBytes: 4096 }).text;
    expect(zh).toContain('**摘要**: 订单失效后到账 2 笔');
    const en = renderMarkdown([n], { locale: 'en', style: { lineBreak: '\n' }, maxBytes: 4096 }).text;
    expect(en).toContain('**Summary**: Late payments');
  });

  it('keeps a many-alert WeCom message under 4096 bytes and says how many were left out', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({
      ...base,
      outTradeNo: `RECHARGE_ORDER_${i}`,
      dedupeKey: `k${i}`,
    }));
    const { title, text } = renderMarkdown(many, {
      locale: 'zh+en',
      style: { lineBreak: '\n' },
      maxBytes: 4096,
    });
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(4096);
    expect(text).toMatch(/另有 \d+ 条未显示 \/ \d+ more not shown/);
    expect(title).toBe('【严重】 30 条告警 / 30 alerts: 支付通知丢失（对账发现已支付）');
  });

  it('truncates on a character boundary', () => {
    expect(truncateUtf8('支付通知', 7)).toBe('支付');
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });

  it('writes email with a one-line subject, plain text and escaped HTML', () => {
    const n: Notice = { ...base, summary: 'a <b>bold</b>\r\nsubject' };
    const mail = renderEmail([n], { locale: 'en', subjectPrefix: '[paysync]' });
    expect(mail.subject).toBe(
      '[paysync] [CRITICAL] FIRING Missed payment notification RECHARGE_ORDER_20261126_0001',
    );
    expect(mail.text).toContain('Runbook: https://runbooks.example.com/missed-notifications.md');
    expect(mail.html).toContain('a &#60;b&#62;bold&#60;/b&#62;');
    expect(mail.html).not.toContain('<b>bold');
  });
});
