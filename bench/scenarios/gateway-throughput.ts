// gateway-throughput: the callback-gateway's CPU per acknowledged WeChat Pay notification (verify the
// RSA signature, decrypt AES-256-GCM, check merchant and contract, publish to Kafka with acks=all,
// 204) against the job's physical floor, measured in the same run as child processes alike:
//
// - the floor: a bare node:http server that answers 204 after an RSA-SHA256 verify, an AES-256-GCM
//   decrypt and a JSON parse of the same notifications (what no implementation can skip);
// - a bare express route answering 204 (the framework's own cost).
//
// Each is driven closed-loop at its maximum rate in alternating windows; CPU per answer comes from
// /proc (steadier than requests/s on a shared machine). Then the gateway's latency at fixed
// open-loop rates (50, 200, 500, 1,000/s and half its maximum), charted in gateway-throughput.svg.
//
// BENCH_GATEWAY_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the children;
// BENCH_GW_RATE_S (default 5) is the length of each fixed-rate window. BENCH_GW_COMPARE_ROOT (another
// checkout of paysync, with its dependencies installed) adds its gateway to the same alternating
// windows: an A/B of two versions that a busy machine disturbs alike.
//
// Run: eval "$(node scripts/infra.ts env)" && node bench/run.ts gateway-throughput
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topicNames } from '@paysync/contracts';
import { createIsolatedTopics, testKafka, uniqueName } from '@paysync/testkit';
import { aesGcmDecrypt, messageSignString, rsaVerify, toPublicKey } from '@paysync/wechatpay';
import { startSandbox } from '@paysync/wechatpay-sandbox';
import { Pool } from 'undici';
import { benchPlatform, type Notification, signedNotifications } from '../notifications.ts';
import { openLoop } from '../open-loop.ts';
import { peakRssMb, percentile, processCpuMs, type Scenario } from '../result.ts';
import { latencyChart, writeChart } from '../svg.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CALLBACK = '/api/payment/wechat/callback';
const CONNECTIONS = 64;
const WARMUP_MS = 2_000;
/** Each target is measured in ROUNDS alternating windows of this length (noise hits all alike). */
const WINDOW_MS = 4_000;
const ROUNDS = 3;
const RATE_S = Number(process.env.BENCH_GW_RATE_S ?? 5);
const FIXED_RATES = [50, 200, 500, 1000];
const DISTINCT_NOTIFICATIONS = 2_000;
/** Gateway CPU per acknowledged notification, at most this multiple of the floor's. */
const TARGET_FLOOR_RATIO = 2.0;
const TARGET_P99_MS = 50;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function child(args: string[], env: Record<string, string>, cwd = ROOT): ChildProcess {
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr?.on('data', (d: Buffer) => process.stderr.write(`  [${args.at(-1) ?? 'child'}] ${d}`));
  return proc;
}

async function stop(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** 2xx answers, measured seconds, statuses; CPU of the server and of this (load-generating) process. */
type Tally = {
  ok: number;
  seconds: number;
  statuses: Record<number, number>;
  cpuMs: number;
  loadCpuMs: number;
};

/**
 * Closed loop: `CONNECTIONS` requests outstanding at all times, for `ms`; counts the 2xx answers
 * that complete inside the window.
 */
async function closedLoop(url: string, notifications: Notification[], ms: number, tally?: Tally) {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  let done = false;
  let i = 0;
  const started = performance.now();
  const worker = async () => {
    while (!done) {
      const n = notifications[i++ % notifications.length] as Notification;
      const res = await pool.request({ method: 'POST', path: CALLBACK, headers: n.headers, body: n.body });
      await res.body.dump();
      if (tally && !done) {
        tally.statuses[res.statusCode] = (tally.statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode >= 200 && res.statusCode < 300) tally.ok += 1;
      }
    }
  };
  const workers = Array.from({ length: CONNECTIONS }, worker);
  await new Promise((r) => setTimeout(r, ms));
  done = true;
  if (tally) tally.seconds += (performance.now() - started) / 1000;
  await Promise.all(workers);
  await pool.close();
}

/**
 * Maximum throughput of each target: a warm-up each, then alternating measurement windows, so a
 * neighbour's burst of CPU use on a shared machine lands on every target rather than on one.
 */
async function maxThroughputs(
  targets: { url: string; pid: number }[],
  notifications: Notification[],
): Promise<Tally[]> {
  const tallies: Tally[] = targets.map(() => ({ ok: 0, seconds: 0, statuses: {}, cpuMs: 0, loadCpuMs: 0 }));
  for (const t of targets) await closedLoop(t.url, notifications, WARMUP_MS);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [k, t] of targets.entries()) {
      const tally = tallies[k] as Tally;
      const cpuBefore = await processCpuMs(t.pid);
      const loadBefore = process.cpuUsage();
      await closedLoop(t.url, notifications, WINDOW_MS, tally);
      const load = process.cpuUsage(loadBefore);
      tally.loadCpuMs += (load.user + load.system) / 1000;
      tally.cpuMs += (await processCpuMs(t.pid)) - cpuBefore;
    }
  }
  return tallies;
}

/** The gateway's latency at one open-loop rate, from when each notification was due. */
async function latencyAtRate(url: string, notifications: Notification[], rate: number) {
  const count = Math.max(1, Math.round(rate * RATE_S));
  const requests = Array.from({ length: count }, (_, i) => notifications[i % notifications.length]!);
  const run = await openLoop({ url, path: CALLBACK, requests, rate, connections: CONNECTIONS * 2 });
  const latencies: number[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    if (run.status[i] === 204) latencies.push(run.answeredAt[i]! - run.dueAt[i]!);
    else failed += 1;
  }
  const p = (q: number) => Math.round(percentile(latencies, q) * 100) / 100;
  return { rate_per_s: rate, p50_ms: p(50), p95_ms: p(95), p99_ms: p(99), samples: latencies.length, failed };
}

/** Mean Kafka batch size and write time, from the gateway's own metrics. */
async function metricSums(url: string) {
  const text = await (await fetch(url)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const writes = value('paysync_gateway_kafka_publish_batch_size_count');
  return {
    writes,
    batchMean: value('paysync_gateway_kafka_publish_batch_size_sum') / writes,
    writeMsMean: (value('paysync_gateway_kafka_publish_duration_seconds_sum') * 1000) / writes,
  };
}

async function run() {
  const sandbox = await startSandbox({});
  const merchant = sandbox.merchant!;
  const dir = await mkdtemp(join(tmpdir(), 'paysync-bench-gw-'));
  const prefix = uniqueName('bench_gw');
  const topics = await createIsolatedTopics(Object.values(topicNames(prefix)), 6);
  const procs: ChildProcess[] = [];
  try {
    const platform = await benchPlatform(dir);
    await writeFile(join(dir, 'merchant.pem'), merchant.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'apiv3.key'), merchant.apiV3Key, { mode: 0o600 });
    const notifications = await signedNotifications({
      platform,
      apiV3Key: merchant.apiV3Key,
      mchid: merchant.mchid,
      appid: merchant.appid,
      outTradeNos: Array.from(
        { length: DISTINCT_NOTIFICATIONS },
        (_, k) => `BENCH${k.toString().padStart(6, '0')}${randomBytes(6).toString('hex')}`,
      ),
      amountFen: 1000,
    });

    // All three servers run side by side (idle while another is measured).
    const self = fileURLToPath(import.meta.url);
    const [floorPort, basePort] = [await freePort(), await freePort()];
    const floor = child([self, '--floor-server', String(floorPort), dir], {});
    const baseline = child([self, '--baseline-server', String(basePort)], {});
    procs.push(floor, baseline);
    const floorUrl = `http://127.0.0.1:${floorPort}`;
    const baseUrl = `http://127.0.0.1:${basePort}`;
    const gatewayEnv = (port: number, opsPort: number): Record<string, string> => ({
      PAYSYNC_MODE: 'development',
      LOG_LEVEL: 'info',
      KAFKA_TOPIC_PREFIX: prefix,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(opsPort),
      GATEWAY_API_TOKEN: randomBytes(24).toString('hex'),
      GATEWAY_MAX_IN_FLIGHT: '1024',
      WECHATPAY_MCHID: merchant.mchid,
      WECHATPAY_APPID: merchant.appid,
      WECHATPAY_MERCHANT_SERIAL_NO: merchant.certificateSerial,
      WECHATPAY_PRIVATE_KEY_FILE: join(dir, 'merchant.pem'),
      WECHATPAY_API_V3_KEY_FILE: join(dir, 'apiv3.key'),
      ...platform.env,
      WECHATPAY_BASE_URLS: sandbox.url,
      WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      WECHATPAY_NOTIFY_URL: `https://pay.example.com${CALLBACK}`,
    });
    const [port, opsPort] = [await freePort(), await freePort()];
    const gateway = child(['services/callback-gateway/src/main.ts'], gatewayEnv(port, opsPort));
    procs.push(gateway);
    const compareRoot = process.env.BENCH_GW_COMPARE_ROOT;
    const [cmpPort, cmpOpsPort] = [await freePort(), await freePort()];
    const compare = compareRoot
      ? child(['services/callback-gateway/src/main.ts'], gatewayEnv(cmpPort, cmpOpsPort), compareRoot)
      : undefined;
    if (compare) procs.push(compare);
    const gatewayUrl = `http://127.0.0.1:${port}`;
    await waitFor('the floor server', async () => (await fetch(`${floorUrl}/healthz`)).ok);
    await waitFor('the baseline server', async () => (await fetch(`${baseUrl}/healthz`)).ok);
    await waitFor(
      'the gateway to be ready',
      async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok,
      60_000,
    );
    if (compare) {
      await waitFor(
        'the comparison gateway to be ready',
        async () => (await fetch(`http://127.0.0.1:${cmpOpsPort}/readyz`)).ok,
        60_000,
      );
    }

    const [fl, base, gw, cmp] = (await maxThroughputs(
      [
        { url: floorUrl, pid: floor.pid as number },
        { url: baseUrl, pid: baseline.pid as number },
        { url: gatewayUrl, pid: gateway.pid as number },
        ...(compare ? [{ url: `http://127.0.0.1:${cmpPort}`, pid: compare.pid as number }] : []),
      ],
      notifications,
    )) as [Tally, Tally, Tally, Tally | undefined];
    await stop(floor);
    await stop(baseline);
    if (compare) await stop(compare);
    const rateOf = (t: Tally) => t.ok / t.seconds;
    const cpuUs = (t: Tally) => (t.cpuMs * 1000) / Math.max(1, t.ok);
    const maxRate = rateOf(gw);
    const half = Math.max(1, Math.floor(maxRate / 2));
    const curve = [];
    for (const rate of [...FIXED_RATES.filter((r) => r < maxRate), half].sort((a, b) => a - b)) {
      curve.push(await latencyAtRate(gatewayUrl, notifications, rate));
    }
    const atHalf = curve.find((c) => c.rate_per_s === half)!;
    const scraped = await metricSums(`http://127.0.0.1:${opsPort}/metrics`);
    const rss = await peakRssMb(gateway.pid as number);
    const exitCode = await stop(gateway);
    await writeChart(
      'gateway-throughput',
      latencyChart({
        title: 'callback-gateway: notification sent → 204 (durable in Kafka)',
        rows: curve,
        saturation: Math.round(maxRate),
        targets: [{ rate: half, ms: TARGET_P99_MS }],
      }),
    );

    // Invariant 4, roughly: at least as many observations are in Kafka as were acknowledged.
    const admin = testKafka().admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topicNames(prefix).paymentObservations);
    await admin.disconnect();
    const written = offsets.reduce((n, p) => n + Number(p.high), 0);

    const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
    const floorRatio = cpuUs(gw) / cpuUs(fl);
    const failures = curve.reduce((n, c) => n + c.failed, 0);
    return {
      value: Math.round(cpuUs(gw)),
      unit: 'µs CPU/notification',
      baseline: { name: 'floor: node:http + verify + decrypt', value: Math.round(cpuUs(fl)) },
      ratio: round(floorRatio, 2),
      target: { max_ratio: TARGET_FLOOR_RATIO, max_p99_ms: TARGET_P99_MS },
      pass: floorRatio <= TARGET_FLOOR_RATIO && atHalf.p99_ms < TARGET_P99_MS && failures === 0,
      extra: {
        gateway_cpu_us_per_notification: Math.round(cpuUs(gw)),
        ...(cmp
          ? {
              compare_root: compareRoot as string,
              compare_cpu_us_per_notification: Math.round(cpuUs(cmp)),
              compare_cpu_ratio_to_floor: round(cpuUs(cmp) / cpuUs(fl), 2),
              compare_per_s: Math.round(rateOf(cmp)),
            }
          : {}),
        floor_cpu_us_per_notification: Math.round(cpuUs(fl)),
        express_cpu_us_per_request: Math.round(cpuUs(base)),
        cpu_ratio_to_floor: round(floorRatio, 2),
        cpu_ratio_to_express: round(cpuUs(gw) / cpuUs(base), 2),
        gateway_per_s: Math.round(maxRate),
        floor_per_s: Math.round(rateOf(fl)),
        express_per_s: Math.round(rateOf(base)),
        throughput_ratio_to_floor: round(maxRate / rateOf(fl), 3),
        throughput_ratio_to_express: round(maxRate / rateOf(base), 3),
        p50_ms: atHalf.p50_ms,
        p99_ms: atHalf.p99_ms,
        latency_rate_per_s: half,
        latency_failures: failures,
        latency_curve: JSON.stringify(curve),
        peak_rss_mb: rss,
        load_generator_cpu_us_per_request: Math.round((gw.loadCpuMs * 1000) / Math.max(1, gw.ok)),
        connections: CONNECTIONS,
        measure_s_each: (ROUNDS * WINDOW_MS) / 1000,
        gateway_statuses: JSON.stringify(gw.statuses),
        floor_statuses: JSON.stringify(fl.statuses),
        observations_written: written,
        acknowledged_measured: (gw.statuses[204] ?? 0) + curve.reduce((n, c) => n + c.samples, 0),
        gateway_exit_code: exitCode ?? -1,
        kafka_writes: scraped.writes,
        kafka_batch_mean: round(scraped.batchMean, 1),
        kafka_write_ms_mean: round(scraped.writeMsMean, 2),
      },
    };
  } finally {
    for (const p of procs) await stop(p);
    await topics.remove().catch(() => {});
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const scenario: Scenario = {
  name: 'gateway-throughput',
  description:
    'gateway CPU per acknowledged notification (verify + decrypt + checks + Kafka acks=all + 204) vs the floor (node:http + verify + decrypt) and bare express; latency at 50-1,000/s and half the maximum rate',
  run,
};

// The floor and the express baseline run as child processes of the scenario, like the gateway.
if (import.meta.main && process.argv[2] === '--floor-server') {
  // What no implementation can skip: read the body, check WeChat's RSA-SHA256 signature over it,
  // parse it, decrypt its resource (AES-256-GCM) and parse that; then 204.
  const dir = process.argv[4] as string;
  const apiV3Key = (await readFile(join(dir, 'apiv3.key'), 'utf8')).trim();
  const publicKey = toPublicKey(await readFile(join(dir, 'wechatpay-public.pem'), 'utf8'));
  const server = createHttpServer((req, res) => {
    if (req.method === 'GET') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const h = req.headers;
      const signed = messageSignString(
        String(h['wechatpay-timestamp']),
        String(h['wechatpay-nonce']),
        body.toString('utf8'),
      );
      if (!rsaVerify(publicKey, signed, String(h['wechatpay-signature'])))
        return void res.writeHead(401).end();
      const { resource } = JSON.parse(body.toString('utf8')) as {
        resource: { nonce: string; associated_data: string; ciphertext: string };
      };
      JSON.parse(
        aesGcmDecrypt(apiV3Key, resource.nonce, resource.associated_data, resource.ciphertext).toString(
          'utf8',
        ),
      );
      res.writeHead(204).end();
    });
  });
  server.listen(Number(process.argv[3]), '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (import.meta.main && process.argv[2] === '--baseline-server') {
  const { default: express } = await import('express');
  const app = express();
  app.get('/healthz', (_req, res) => void res.status(200).end());
  app.post(CALLBACK, (_req, res) => void res.status(204).end());
  const server = app.listen(Number(process.argv[3]), '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}
