import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, createRegistry } from '@paysync/observability';
import {
  BadSignatureError,
  type NotificationVerifier,
  UnreadableNotificationError,
} from '@paysync/wechatpay';
import { receiveV3Notification } from '../../src/callback.ts';
import { createGatewayMetrics } from '../../src/metrics.ts';

// The outcome a refused notification is counted under decides whether the notification SLO counts
// it: a signed notification paysync could not read is paysync's failure (unreadable), a bad
// signature is anyone's junk. (The verifier's own tests make these errors from real signatures.)

async function outcomeOf(error: Error): Promise<{ status: number; outcome: string | undefined }> {
  const metrics = createGatewayMetrics(createRegistry('callback-gateway', { processMetrics: false }));
  const verifier = { verify: async () => Promise.reject(error) } as unknown as NotificationVerifier;
  const answer = await receiveV3Notification(
    {
      verifier,
      publisher: { publish: async () => {} } as never,
      merchant: { mchid: '1900009191', appids: ['wxd678efh567hg6787'] } as never,
      metrics,
      logger: createLogger({ service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    },
    { headers: {}, body: Buffer.from('{}') },
  );
  const counted = (await metrics.notifications.get()).values.find((v) => v.value === 1);
  return { status: answer.status, outcome: counted?.labels.outcome as string | undefined };
}

describe('notification outcomes', () => {
  it('counts a signed notification paysync cannot read as unreadable (400), not as malformed junk', async () => {
    expect(await outcomeOf(new UnreadableNotificationError('resource.amount missing'))).toEqual({
      status: 400,
      outcome: 'unreadable',
    });
  });

  it('counts a bad signature as bad_signature (401)', async () => {
    expect(await outcomeOf(new BadSignatureError('no'))).toEqual({ status: 401, outcome: 'bad_signature' });
  });
});
