// SCRAM users on the local Kafka (scripts/infra.ts), for the Kafka ACL tests and local trials:
// upserts every user in one JVM run of scripts/kafka/ScramUsers.java on the broker's own jars.
// Passwords go over stdin, never on a command line. Production clusters create their users their
// own way (Strimzi KafkaUser, kafka-configs, the provider's console).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../infra/config.ts';
import { libsDir } from '../infra/kafka.ts';

export type ScramUser = { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string };

const TOOL = join(ROOT, 'scripts', 'kafka', 'ScramUsers.java');
const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** Creates or updates `users` through `bootstrap`, a listener allowed to alter the cluster. */
export async function upsertScramUsers(bootstrap: string, users: readonly ScramUser[]): Promise<void> {
  for (const u of users) {
    if (!NAME.test(u.name)) throw new Error(`SCRAM user name not allowed: ${JSON.stringify(u.name)}`);
    if (u.password === '' || /[\s]/.test(u.password))
      throw new Error(`the SCRAM password of ${u.name} must be non-empty without whitespace`);
  }
  const libs = libsDir();
  if (!existsSync(libs)) throw new Error(`no Kafka jars in ${libs}: run \`node scripts/infra.ts up\` first`);
  const child = spawn('java', ['-Dlog4j2.level=warn', '-cp', join(libs, '*'), TOOL, bootstrap], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d));
  child.stderr.on('data', (d: Buffer) => output.push(d));
  child.stdin.end(users.map((u) => `${u.mechanism} ${u.name} ${u.password}\n`).join(''));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0)
    throw new Error(`ScramUsers.java exited with ${code}:\n${Buffer.concat(output).toString().slice(-4000)}`);
}
