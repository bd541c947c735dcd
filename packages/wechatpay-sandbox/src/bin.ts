#!/usr/bin/env node
// paysync-sandbox: runs the WeChat Pay sandbox as a standalone server (Node 24 runs this file as is).
import { parseArgs } from 'node:util';
import { type CliConfig, loadCliConfig, writeCredentials } from './cli-config.ts';
import { startSandbox } from './sandbox.ts';

const USAGE = `usage: paysync-sandbox [options]   (every option also reads PAYSYNC_SANDBOX_<NAME>)
  --host <addr>               listen address (default 127.0.0.1)
  --port <n>                  port (default 0 = any free port)
  --time-scale <x>            multiply WeChat's notification retry schedule (default 1)
  --key-mode <m>              certificate | publicKey | both (default certificate)
  --query-qps <n>             order queries per second per merchant, 0 = unlimited (default 0)
  --seed <n>                  seed for share-based faults (default 1)
  --notify-timeout-ms <n>     notification answer timeout (default 5000)
  --https-only                refuse http:// notify URLs, as WeChat does
  --merchants-file <path>     JSON array of merchants {mchid, appids, apiV3Key, certificateSerial, publicKeyPem}
  --credentials-out <dir>     write the generated test merchant and platform keys to <dir>
  --help`;

let config: CliConfig;
try {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'time-scale': { type: 'string' },
      'key-mode': { type: 'string' },
      'query-qps': { type: 'string' },
      seed: { type: 'string' },
      'notify-timeout-ms': { type: 'string' },
      'https-only': { type: 'boolean' },
      'merchants-file': { type: 'string' },
      'credentials-out': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  config = await loadCliConfig(values, process.env);
} catch (error) {
  console.error(`paysync-sandbox: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

const sandbox = await startSandbox(config.options);
if (config.credentialsOut) await writeCredentials(config.credentialsOut, sandbox);
console.log(
  JSON.stringify({
    msg: 'wechatpay sandbox listening',
    url: sandbox.url,
    merchants: sandbox.merchants.map((m) => m.mchid),
    signingSerial: sandbox.keys().signingSerial,
    publicKeyId: sandbox.keys().publicKey?.id ?? null,
    credentials: config.credentialsOut ?? null,
  }),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sandbox.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
