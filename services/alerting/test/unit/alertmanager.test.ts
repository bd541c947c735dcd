import { describe, expect, it } from '@jest/globals';
import { alertmanagerDedupeKey, alertmanagerPayload, noticesFromAlertmanager } from '../../src/index.ts';

// What Alertmanager 0.25 POSTs (webhook payload version 4).
const sample = {
  receiver: 'paysync-alerting',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'PaysyncMissedNotifications', severity: 'critical', shard: '0-of-1' },
      annotations: {
        summary: '2 missed notifications in 15m',
        summary_zh: '15 分钟内 2 笔通知丢失',
        description: 'd',
        runbook_url: 'https://example.com/docs/runbooks/missed-notifications.md',
      },
      startsAt: '2026-11-26T04:00:00.123Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
      fingerprint: '1a30ba71cca2921f',
    },
    {
      status: 'resolved',
      labels: { alertname: 'PaysyncLedgerConsumerLag', severity: 'page' },
      annotations: {},
      startsAt: '2026-11-26T03:00:00Z',
      endsAt: '2026-11-26T03:30:00Z',
      generatorURL: '',
      fingerprint: 'aaaabbbbccccdddd',
    },
  ],
  groupLabels: { alertname: 'PaysyncMissedNotifications' },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="PaysyncMissedNotifications"}',
  truncatedAlerts: 0,
};

describe('Alertmanager webhook payload', () => {
  it('turns each alert into a notice with its own status, texts, runbook and episode key', () => {
    const notices = noticesFromAlertmanager(alertmanagerPayload.parse(sample));
    expect(notices[0]).toEqual({
      source: 'alertmanager',
      status: 'firing',
      dedupeKey: `alertmanager:1a30ba71cca2921f:${Date.parse('2026-11-26T04:00:00.123Z')}`,
      type: 'PaysyncMissedNotifications',
      severity: 'critical',
      summary: '2 missed notifications in 15m',
      summaryZh: '15 分钟内 2 笔通知丢失',
      description: 'd',
      details: { shard: '0-of-1' },
      producer: 'alertmanager:paysync-alerting',
      startsAt: '2026-11-26T04:00:00.123Z',
      runbookUrl: 'https://example.com/docs/runbooks/missed-notifications.md',
      link: 'http://prometheus:9090/graph?g0.expr=x',
    });
    // An unknown severity is treated as a warning; a resolved alert carries its end.
    expect(notices[1]).toMatchObject({
      status: 'resolved',
      severity: 'warning',
      endsAt: '2026-11-26T03:30:00Z',
      summary: 'PaysyncLedgerConsumerLag',
    });
  });

  it('keys one firing episode the same way whatever repeats it, and a new episode differently', () => {
    const a = alertmanagerPayload.parse(sample).alerts[0]!;
    expect(alertmanagerDedupeKey({ ...a, annotations: { summary: 'changed value' } })).toBe(
      alertmanagerDedupeKey(a),
    );
    expect(alertmanagerDedupeKey({ ...a, startsAt: '2026-11-26T05:00:00Z' })).not.toBe(
      alertmanagerDedupeKey(a),
    );
    const { fingerprint: _f, ...withoutFingerprint } = a;
    const reordered = {
      ...withoutFingerprint,
      labels: { shard: '0-of-1', severity: 'critical', alertname: 'PaysyncMissedNotifications' },
    };
    expect(alertmanagerDedupeKey(reordered)).toBe(alertmanagerDedupeKey(withoutFingerprint));
  });

  it('refuses other versions, alerts without a name and empty groups, and tolerates new fields', () => {
    expect(alertmanagerPayload.safeParse({ ...sample, version: '3' }).success).toBe(false);
    expect(alertmanagerPayload.safeParse({ ...sample, alerts: [] }).success).toBe(false);
    const nameless = { ...sample, alerts: [{ ...sample.alerts[0], labels: { severity: 'critical' } }] };
    expect(alertmanagerPayload.safeParse(nameless).success).toBe(false);
    expect(alertmanagerPayload.safeParse({ ...sample, orgId: 1, futureField: { x: 1 } }).success).toBe(true);
  });
});
