import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TOPICS } from '@paysync/contracts';
import { publish } from '@paysync/kafka';
import { archiveEvidenceReader, checkEvidence, queryAnswer } from '@paysync/orders';
import { answerObservation } from '@paysync/reconcile';
import { checkInvariants, sandboxClient, type WeChatPaidOrder } from '@paysync/testkit';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { createReconcilerWorld, type ReconcilerWorld } from '../world.ts';

// WeChat rotates its platform certificate, and moves merchants from certificates to a WeChat Pay
// public key: evidence signed with the old key and checked after the change must still verify —
// the ledger applies observations late (lag, a DLQ retry days later). The archive keeps every
// certificate any component downloaded; the ledger reads it. WeChat issues the public key before it
// signs with it (key mode `both`): the ledger is configured with it from the start, as in production.

let world: ReconcilerWorld;
beforeAll(async () => {
  world = await createReconcilerWorld('rec_rotation', { sandbox: { keyMode: 'both' } });
});
afterAll(async () => {
  await world?.close();
});

describe('evidence across key rotations', () => {
  it('refuses evidence from a certificate outside its validity, even one in the archive', async () => {
    const m = world.sandbox.merchant!;
    const [order] = await world.createOrders(1, { tag: 'V' });
    world.pay(order!);
    const ref = { outTradeNo: order!.outTradeNo, mchid: m.mchid };
    const signed = answerObservation(
      await queryAnswer(world.client, ref),
      ref,
      { producer: 'reconciler' },
      new Date(),
    );
    if (signed.evidence?.kind !== 'answer') throw new Error('an answer expected');
    // The same signature presented as made ten years ago: before the certificate existed.
    const tenYearsAgo = String(Number(signed.evidence.headers.timestamp) - 10 * 365 * 86_400);
    const { reader } = archiveEvidenceReader({ pool: world.pool, apiV3Key: m.apiV3Key });
    await expect(
      checkEvidence(reader, {
        ...signed,
        evidence: { ...signed.evidence, headers: { ...signed.evidence.headers, timestamp: tenYearsAgo } },
      }),
    ).rejects.toMatchObject({ code: 'unknown_key' });
    await expect(checkEvidence(reader, signed)).resolves.toMatchObject({ namesOrder: true });
  });

  it('verifies evidence signed before a certificate rotation and a switch to the public key, after both', async () => {
    const m = world.sandbox.merchant!;
    const [first, second] = await world.createOrders(2, { tag: 'K' });
    const paid: WeChatPaidOrder[] = [world.pay(first!), world.pay(second!)];
    const oldSerial = world.sandbox.keys().signingSerial;
    const observe = async (client: WeChatPayClient, outTradeNo: string) =>
      answerObservation(
        await queryAnswer(client, { outTradeNo, mchid: m.mchid }),
        { outTradeNo, mchid: m.mchid },
        { producer: 'reconciler' },
        new Date(),
      );
    // Signed by the old certificate, held back (a consumer lagging, a dead letter waiting).
    const signedBefore = await observe(world.client, first!.outTradeNo);
    expect(signedBefore.evidence).toMatchObject({ headers: { serial: oldSerial } });

    // WeChat rotates: a new certificate signs and the old one is no longer served.
    const rotated = await world.sandbox.rotateCertificate({ retirePrevious: true });
    await world.client.keyStore!.refresh();
    expect(world.client.keyStore!.serials().certificates).toEqual([rotated.serialNo]);
    // Then the merchant moves to the WeChat Pay public key; certificates disappear altogether.
    const { id, publicKeyPem } = await world.sandbox.usePublicKey({ only: true });
    const withPublicKey = await sandboxClient(world.sandbox, { publicKey: { id, key: publicKeyPem } });
    const signedAfter = await observe(withPublicKey, second!.outTradeNo);
    expect(signedAfter.evidence).toMatchObject({ headers: { serial: id } });
    await withPublicKey.close();

    // A ledger started now (nothing cached) verifies both from the archive and its configuration.
    const restarted = archiveEvidenceReader({
      pool: world.pool,
      apiV3Key: m.apiV3Key,
      publicKeys: [{ id, key: publicKeyPem }],
    });
    await expect(checkEvidence(restarted.reader, signedBefore)).resolves.toMatchObject({ namesOrder: true });
    await expect(checkEvidence(restarted.reader, signedAfter)).resolves.toMatchObject({ namesOrder: true });

    // And the running ledger settles both.
    await publish(world.producer, TOPICS.paymentObservations, [signedBefore, signedAfter], {
      destination: world.topics.paymentObservations,
    });
    await world.waitUntilConsumed();
    expect((await world.order(first!.outTradeNo))?.status).toBe('paid');
    expect((await world.order(second!.outTradeNo))?.status).toBe('paid');
    expect(
      (await checkInvariants(world.pool, { paidAtWeChat: paid, paidAtWeChatIsComplete: true })).violations,
    ).toEqual([]);
  });
});
