import { createHash } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { EXIT_CODES } from '@paysync/observability';
import { eventually } from '@paysync/testkit';
import { createLedgerWorld, type LedgerWorld, observation } from '../world.ts';

// What the ledger dead-letters: only an observation that fails alone with an error about its own
// data. The faults suite covers a database that refuses every write; this covers a schema that
// refuses every settlement "as data".

const worlds: LedgerWorld[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});
afterAll(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

describe('dead letters', () => {
  it('treats many records of one chunk failing "as data" as a database fault: retried, none dead-lettered', async () => {
    const world = await createLedgerWorld('ledger_suspicious', 1); // one partition: one chunk
    worlds.push(world);
    const orders = await Promise.all(Array.from({ length: 5 }, () => world.seedOrder()));
    // A bad migration: a CHECK constraint no settlement can pass, so each one fails alone as "data".
    await world.pool.query(
      "ALTER TABLE payment_orders ADD CONSTRAINT chk_fault_no_paid CHECK (status NOT IN ('paid', 'refunded'))",
    );
    await world.observe(...orders.map((o) => observation(o)));
    const ledger = await world.startLedger();
    const { consumer } = ledger.service.parts.ledger;
    // The chunk is handed to the ledger again: it failed and was not dead-lettered and committed.
    let attempts = 0;
    consumer.on(consumer.events.START_BATCH_PROCESS, () => {
      attempts += 1;
    });
    await eventually('the chunk to be retried', async () => (attempts >= 2 ? true : undefined));
    const [[pendingRow]] = (await world.pool.query(
      "SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'pending'",
    )) as unknown as [{ n: number }[]];
    expect(Number(pendingRow?.n)).toBe(5);
    // The schema is mended with the ledger stopped: mended mid-chunk, a record that failed before the
    // fix would be one failure among successes — which is what a genuinely bad record looks like.
    expect(await ledger.stop('schema mended next')).toBe(EXIT_CODES.ok);
    await world.pool.query('ALTER TABLE payment_orders DROP CONSTRAINT chk_fault_no_paid');
    await world.startLedger();
    await world.waitUntilConsumed();
    const [paid] = await world.pool.query("SELECT COUNT(*) AS n FROM payment_orders WHERE status = 'paid'");
    expect(Number((paid as { n: number }[])[0]?.n)).toBe(5);
    expect(world.outputs.deadLetters).toEqual([]);
  });

  it('dead-letters a record that fails alone with an error about its data', async () => {
    const world = await createLedgerWorld('ledger_bad_record', 1);
    worlds.push(world);
    const [good, bad] = await Promise.all([world.seedOrder(), world.seedOrder()]);
    // Only this order's settlement is refused by the schema: its data, not the database, is wrong.
    await world.pool.query(
      `ALTER TABLE payment_orders ADD CONSTRAINT chk_fault_one CHECK (status = 'pending' OR out_trade_no <> '${bad!.outTradeNo}')`,
    );
    await world.observe(observation(good!), observation(bad!));
    await world.startLedger();
    await world.waitUntilConsumed();
    await eventually('the dead letter', async () =>
      world.outputs.deadLetters.length > 0 ? true : undefined,
    );
    expect(world.outputs.deadLetters.map((d) => [d.reason, d.outTradeNo])).toEqual([
      ['processing_failed', bad!.outTradeNo],
    ]);
    const [rows] = await world.pool.query(
      'SELECT out_trade_no, status FROM payment_orders ORDER BY out_trade_no',
    );
    expect(
      Object.fromEntries(
        (rows as { out_trade_no: string; status: string }[]).map((r) => [r.out_trade_no, r.status]),
      ),
    ).toEqual({
      [good!.outTradeNo]: 'paid',
      [bad!.outTradeNo]: 'pending',
    });
  });

  // A dead letter once copied the whole value: 700 KB of quotes became a 1.4 MB JSON string over the
  // broker's message limit, the DLQ write failed, and the partition stopped settling for good.
  it('keeps a huge malformed message to a bounded, hashed prefix and settles what follows it', async () => {
    const world = await createLedgerWorld('ledger_poison', 1);
    worlds.push(world);
    const order = await world.seedOrder();
    const poison = '"'.repeat(700 * 1024);
    await world.publishRaw(order.outTradeNo, poison);
    await world.observe(observation(order));
    await world.startLedger();
    await world.waitUntilConsumed();
    const [rows] = await world.pool.query('SELECT status FROM payment_orders WHERE out_trade_no = ?', [
      order.outTradeNo,
    ]);
    expect((rows as { status: string }[])[0]?.status).toBe('paid');
    await eventually('the dead letter', async () =>
      world.outputs.deadLetters.length > 0 ? true : undefined,
    );
    const [dead] = world.outputs.deadLetters;
    expect(dead).toMatchObject({
      reason: 'malformed',
      originalBytes: poison.length,
      originalSha256: createHash('sha256').update(poison).digest('hex'),
      originalTruncated: true,
    });
    expect(Buffer.byteLength(dead!.originalValue)).toBe(64 * 1024);
  });
});
