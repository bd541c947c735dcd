import { describe, expect, it } from '@jest/globals';
import { ALERTMANAGER_FILE, runTool } from '../monitoring/files.ts';

async function receivers(labels: string[]): Promise<string[]> {
  const { code, stdout } = await runTool('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${ALERTMANAGER_FILE}`,
    ...labels,
  ]);
  expect(code).toBe(0);
  return stdout
    .trim()
    .split(',')
    .map((s) => s.trim());
}

describe('Alertmanager example configuration', () => {
  it('passes amtool check-config', async () => {
    const { code, output } = await runTool('amtool', ['check-config', ALERTMANAGER_FILE]);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('routes paysync alerts to the alerting service, and its own alerts around it as well', async () => {
    expect(
      await receivers(['alertname=PaysyncMissedNotifications', 'severity=warning', 'component=reconciler']),
    ).toEqual(['paysync-alerting']);
    expect(
      await receivers([
        'alertname=PaysyncAlertingDeliveriesFailing',
        'severity=critical',
        'component=alerting',
      ]),
    ).toEqual(['sre-email-fallback', 'paysync-alerting']);
    // The alerting service down: the page goes around it.
    expect(
      await receivers(['alertname=PaysyncAlertingDown', 'severity=critical', 'component=alerting']),
    ).toEqual(['sre-email-fallback', 'paysync-alerting']);
  });

  it("sends the watchdog only to the dead man's switch, never to people", async () => {
    expect(await receivers(['alertname=PaysyncWatchdog', 'severity=info', 'component=alerting'])).toEqual([
      'deadmans-switch',
    ]);
  });
});
