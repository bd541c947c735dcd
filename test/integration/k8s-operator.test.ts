import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import type { Cluster } from '../../scripts/k8s/cluster.ts';
import { CLUSTER_START_TIMEOUT_MS, paymentRepairCrd, startTestCluster } from '../k8s/fixtures.ts';
import { KubeClient, type KubeObject } from '../k8s/kube.ts';
import { OperatorProcess } from '../k8s/operator-process.ts';
import { createPaymentWorld, type PaymentWorld } from '../k8s/payments.ts';

// The PaymentRepair operator end to end: a real kube-apiserver, two operator processes electing a
// leader on a Lease, the WeChat Pay sandbox, MariaDB and Kafka with the points-ledger consuming.
// A repair is created as a user would (kubectl apply); the test reads what a user would read: the
// resource's status and its Events, the orders, the audit log.

const NS = 'paysync';
const LEASE = 'paysync-operator';
let cluster: Cluster;
let kube: KubeClient;
let world: PaymentWorld;
const operators: OperatorProcess[] = [];

type Repair = KubeObject & {
  status?: {
    phase?: string;
    executedBy?: string;
    correlationId?: string;
    message?: string;
    observedGeneration?: number;
    counts?: Record<string, number>;
    report?: { outTradeNo: string; outcome: string; before?: string; after?: string; auditId?: number }[];
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      lastTransitionTime: string;
      observedGeneration: number;
    }[];
  };
};

type Event = {
  reason: string;
  type: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { name: string; kind: string };
};

function operatorEnv(): Record<string, string> {
  return {
    ...world.env,
    KUBECONFIG: cluster.kubeconfigPath,
    RECONCILER_OPERATOR_NAMESPACE: NS,
    RECONCILER_OPERATOR_LEASE: LEASE,
    RECONCILER_OPERATOR_LEASE_DURATION: '4s',
    RECONCILER_OPERATOR_RENEW_DEADLINE: '3s',
    RECONCILER_OPERATOR_RETRY_PERIOD: '500ms',
    RECONCILER_OPERATOR_LEDGER_WAIT: '20s',
    RECONCILER_OPERATOR_RESYNC: '30s',
    RECONCILER_CONCURRENCY: '4',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
  };
}

async function leaseHolder(): Promise<string | undefined> {
  const r = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
  if (r.status !== 200) return undefined;
  return (JSON.parse(r.body) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity || undefined;
}

async function createRepair(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await kube.create({
    apiVersion: 'paysync.io/v1alpha1',
    kind: 'PaymentRepair',
    metadata: { name, namespace: NS },
    spec,
  });
  expect([name, r.status, r.status === 201 ? '' : r.body]).toEqual([name, 201, '']);
}

async function finished(name: string, timeoutMs = 60_000): Promise<Repair> {
  return eventually(
    `PaymentRepair ${name} to finish`,
    async () => {
      const r = await kube.get<Repair>('paysync.io/v1alpha1', 'PaymentRepair', name, NS);
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

async function eventsOf(name: string): Promise<Event[]> {
  const all = await kube.list<Event>('events.k8s.io/v1', 'Event', NS);
  return all.filter((e) => e.regarding.name === name);
}

beforeAll(async () => {
  cluster = await startTestCluster('operator');
  kube = new KubeClient(cluster);
  await kube.installCrds([paymentRepairCrd()]);
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  world = await createPaymentWorld('k8s_operator');
  for (const id of ['operator-a', 'operator-b']) operators.push(new OperatorProcess(id, operatorEnv()));
  await eventually('a leader', async () => ((await leaseHolder()) ? true : undefined), { timeoutMs: 60_000 });
}, CLUSTER_START_TIMEOUT_MS);

afterAll(async () => {
  for (const op of operators) {
    await op.stop().catch(() => {});
    op.saveLog('k8s-operator-test');
  }
  await world?.close();
  await cluster?.stop();
}, 120_000);

describe('leader election', () => {
  it('makes exactly one replica the leader; the other waits', async () => {
    await eventually('both replicas to be up', async () =>
      operators.every((o) => o.saw('waiting for the lease')) ? true : undefined,
    );
    const holder = await leaseHolder();
    expect(['operator-a', 'operator-b']).toContain(holder);
    const leaders = operators.filter((o) => o.saw('became the leader'));
    expect(leaders.map((o) => o.identity)).toEqual([holder]);
  });
});

describe('a dry-run PaymentRepair', () => {
  let orders: string[];
  let repair: Repair;

  beforeAll(async () => {
    orders = await world.createOrders(2, 'D');
    world.pay(orders[0] as string);
    await createRepair('dry-run', {
      action: 'sync',
      dryRun: true,
      reason: 'INC-1: paid at WeChat, pending here',
      requestedBy: 'oncall@example.com',
      outTradeNos: orders,
    });
    repair = await finished('dry-run');
  });

  it('reports what would change, with counts, a report and conditions', async () => {
    expect(repair.status).toMatchObject({
      phase: 'Succeeded',
      observedGeneration: 1,
      counts: { selected: 2, synced: 2, changed: 1, paid: 1, errors: 0, notSynced: 0, unknown: 0 },
    });
    const lines = new Map(repair.status?.report?.map((l) => [l.outTradeNo, l]));
    expect(lines.get(orders[0] as string)).toMatchObject({
      outcome: 'paid',
      before: 'pending',
      after: 'paid',
    });
    expect(lines.get(orders[1] as string)).toMatchObject({ outcome: 'pending', before: 'pending' });
    const complete = repair.status?.conditions?.find((c) => c.type === 'Complete');
    expect(complete).toMatchObject({ status: 'True', reason: 'Succeeded', observedGeneration: 1 });
    expect(Date.parse(complete?.lastTransitionTime as string)).not.toBeNaN();
    expect(repair.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'Finished',
    });
    expect(repair.status?.executedBy).toBe(await leaseHolder());
  });

  it('changes nothing and writes no audit record', async () => {
    expect(await world.status(orders[0] as string)).toBe('pending');
    expect(await world.ledgerEntries(orders[0] as string)).toBe(0);
    expect(await world.audit()).toEqual([]);
  });

  it('records Started and Succeeded Events on the resource', async () => {
    const events = await eventually(
      'two events',
      async () => {
        const e = await eventsOf('dry-run');
        return e.length >= 2 ? e : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(events.map((e) => e.reason).sort()).toEqual(['Started', 'Succeeded']);
    for (const e of events) {
      expect(e).toMatchObject({
        type: 'Normal',
        reportingController: 'paysync.io/reconciler-operator',
        regarding: { kind: 'PaymentRepair', name: 'dry-run' },
      });
    }
    expect(events.find((e) => e.reason === 'Succeeded')?.note).toContain('would change 1');
  });
});

describe('a PaymentRepair applied for real', () => {
  let orders: string[];
  let repair: Repair;

  beforeAll(async () => {
    orders = await world.createOrders(2, 'R');
    world.pay(orders[0] as string);
    await createRepair('apply', {
      action: 'sync',
      dryRun: false,
      reason: 'INC-1: settle what WeChat says is paid',
      requestedBy: 'oncall@example.com',
      outTradeNos: orders,
    });
    repair = await finished('apply');
  });

  it('settles the paid order once through the ledger and reports it', async () => {
    expect(repair.status).toMatchObject({
      phase: 'Succeeded',
      counts: { selected: 2, synced: 2, changed: 1, paid: 1, errors: 0 },
    });
    expect(await world.status(orders[0] as string)).toBe('paid');
    expect(await world.ledgerEntries(orders[0] as string)).toBe(1);
    expect(await world.status(orders[1] as string)).toBe('pending');
    const line = repair.status?.report?.find((l) => l.outTradeNo === orders[0]);
    expect(line).toMatchObject({ outcome: 'paid', before: 'pending', after: 'paid' });
  });

  it("writes payctl's audit records: who, why, before and after, under one correlation id", async () => {
    const rows = (await world.audit()).filter((r) => r.correlation_id === repair.status?.correlationId);
    expect(rows.map((r) => r.out_trade_no).sort()).toEqual([...orders].sort());
    for (const row of rows) {
      expect(row).toMatchObject({
        actor: 'oncall@example.com via paymentrepair/paysync/apply',
        tool: 'operator',
        action: 'sync',
        reason: 'INC-1: settle what WeChat says is paid',
        dry_run: 0,
      });
      const before = typeof row.before_state === 'string' ? JSON.parse(row.before_state) : row.before_state;
      const after = typeof row.after_state === 'string' ? JSON.parse(row.after_state) : row.after_state;
      expect(before.status).toBe('pending');
      expect(after.order.status).toBe(row.out_trade_no === orders[0] ? 'paid' : 'pending');
    }
    const paidLine = repair.status?.report?.find((l) => l.outTradeNo === orders[0]);
    expect(rows.map((r) => Number(r.id))).toContain(paidLine?.auditId);
  });
});

describe('replay and ranges', () => {
  it('replays the last observation of an order (resend) with an audit record', async () => {
    const [order] = await world.createOrders(1, 'P');
    world.pay(order as string);
    await createRepair('settle-for-replay', {
      action: 'sync',
      dryRun: false,
      reason: 'settle',
      outTradeNos: [order],
    });
    expect((await finished('settle-for-replay')).status?.phase).toBe('Succeeded');
    await createRepair('replay', {
      action: 'replay',
      replayMode: 'resend',
      dryRun: false,
      reason: 'downstream missed order-settled',
      outTradeNos: [order],
    });
    const repair = await finished('replay');
    expect(repair.status).toMatchObject({
      phase: 'Succeeded',
      counts: { selected: 1, synced: 1, changed: 0 },
    });
    expect(repair.status?.report?.[0]).toMatchObject({ outTradeNo: order, outcome: 'resent', after: 'paid' });
    const rows = (await world.audit()).filter((r) => r.correlation_id === repair.status?.correlationId);
    expect(rows.map((r) => [r.action, r.tool, r.out_trade_no])).toEqual([['replay', 'operator', order]]);
    expect(await world.ledgerEntries(order as string)).toBe(1);
  });

  it('selects pending orders by creation time for a dry run', async () => {
    const orders = await world.createOrders(2, 'T');
    world.pay(orders[1] as string);
    const now = Date.now();
    await createRepair('range', {
      action: 'sync',
      dryRun: true,
      reason: 'what is pending in the last hour',
      createdFrom: new Date(now - 3_600_000).toISOString(),
      createdTo: new Date(now + 60_000).toISOString(),
      status: 'pending',
    });
    const repair = await finished('range');
    expect(repair.status?.phase).toBe('Succeeded');
    const listed = repair.status?.report?.map((l) => l.outTradeNo) ?? [];
    expect(listed).toEqual(expect.arrayContaining(orders));
    for (const line of repair.status?.report ?? []) expect(line.before).toBe('pending');
    expect(repair.status?.counts?.selected).toBe(listed.length);
  });
});

describe('repairs that cannot be done', () => {
  it('fails with OrdersNotFound and a Warning Event for an order that does not exist', async () => {
    await createRepair('unknown-order', {
      action: 'sync',
      dryRun: true,
      reason: 'typo check',
      outTradeNos: ['K8NOSUCHORDER0001'],
    });
    const repair = await finished('unknown-order');
    expect(repair.status?.phase).toBe('Failed');
    expect(repair.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'OrdersNotFound',
    });
    const failed = await eventually('a Failed event', async () =>
      (await eventsOf('unknown-order')).find((e) => e.reason === 'Failed'),
    );
    expect(failed.type).toBe('Warning');
  });

  it('closes an expired unpaid order at WeChat with action close', async () => {
    const [order] = await world.createOrders(1, 'C', { expired: true });
    await createRepair('close', {
      action: 'close',
      dryRun: false,
      reason: 'expired clean-up',
      outTradeNos: [order],
    });
    const repair = await finished('close');
    expect(repair.status).toMatchObject({ phase: 'Succeeded', counts: { closed: 1, changed: 1 } });
    expect(world.sandbox.order(order as string).trade_state).toBe('CLOSED');
    expect(await world.status(order as string)).toBe('expired');
  });
});

describe('two replicas', () => {
  it('never both act: every repair ran once, on the Lease holder', async () => {
    const repairs = await kube.list<Repair>('paysync.io/v1alpha1', 'PaymentRepair', NS);
    const holder = await leaseHolder();
    for (const r of repairs)
      expect([r.metadata.name, r.status?.executedBy]).toEqual([r.metadata.name, holder]);
    const follower = operators.find((o) => o.identity !== holder) as OperatorProcess;
    expect(follower.saw('executing a PaymentRepair')).toBe(false);
    // One audit record per order per real repair: nothing was executed twice.
    const rows = await world.audit();
    const keys = rows.map((r) => `${r.correlation_id}/${r.out_trade_no}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('hands over when the leader dies: the other replica takes the Lease and executes new repairs', async () => {
    const holder = await leaseHolder();
    const dead = operators.find((o) => o.identity === holder) as OperatorProcess;
    const survivor = operators.find((o) => o.identity !== holder) as OperatorProcess;
    await dead.kill();
    await eventually(
      'the survivor to take the Lease',
      async () => ((await leaseHolder()) === survivor.identity ? true : undefined),
      { timeoutMs: 30_000 },
    );
    // The Lease is written before the log line is flushed.
    await eventually('the survivor to log its leadership', async () =>
      survivor.saw('became the leader') ? true : undefined,
    );
    const orders = await world.createOrders(1, 'H');
    world.pay(orders[0] as string);
    await createRepair('after-handover', {
      action: 'sync',
      dryRun: false,
      reason: 'after handover',
      outTradeNos: orders,
    });
    const repair = await finished('after-handover');
    expect(repair.status).toMatchObject({
      phase: 'Succeeded',
      executedBy: survivor.identity,
      counts: { paid: 1 },
    });
    expect(await world.status(orders[0] as string)).toBe('paid');
  });

  it('releases the Lease on SIGTERM', async () => {
    const holder = await leaseHolder();
    const leader = operators.find((o) => o.identity === holder) as OperatorProcess;
    expect(await leader.stop()).toBe(0);
    expect(leader.saw('reconciler-operator stopped')).toBe(true);
    expect(await leaseHolder()).toBeUndefined();
  });
});
