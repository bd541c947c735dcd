// The local Kafka's TLS material: a CA of this checkout and a broker certificate it signed for
// 127.0.0.1 and localhost, made once with openssl into .cache/data/kafka-tls (kept across restarts;
// a missing file makes all of them again). The broker reads the key and chain as a PEM key store;
// clients trust ca.pem (KAFKA_SSL_CA_FILE). Nothing here is a secret of any real system.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress } from './log.ts';

export type KafkaTls = {
  /** The CA clients trust. */
  caFile: string;
  /** The broker's private key (PKCS#8) followed by its certificate chain: a PEM key store. */
  keyStoreFile: string;
};

export function kafkaTlsFiles(dir = PATHS.kafkaTls): KafkaTls {
  return { caFile: join(dir, 'ca.pem'), keyStoreFile: join(dir, 'broker-keystore.pem') };
}

function openssl(args: string[], dir: string): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new InfraError('NO_OPENSSL', 'openssl is not on PATH (apt-get install openssl)');
    throw new InfraError(
      'OPENSSL_FAILED',
      `openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? err}`,
    );
  }
}

/** A self-signed CA, `<name>.key` and `<name>.pem` in `dir` (the local one; tests make others). */
export function makeCa(dir: string, name: string, subject: string): { caFile: string; keyFile: string } {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '3650',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { caFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
}

/** Makes the CA and the broker's key store unless both are there. */
export function ensureKafkaTls(dir = PATHS.kafkaTls): KafkaTls {
  const files = kafkaTlsFiles(dir);
  if (existsSync(files.caFile) && existsSync(files.keyStoreFile)) return files;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  progress(`Kafka: making a local CA and the broker's TLS certificate in ${rel(dir)} (openssl)…`);
  makeCa(dir, 'ca', '/CN=paysync local Kafka CA');
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'broker.key',
      '-out',
      'broker.csr',
      '-subj',
      '/CN=127.0.0.1',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'broker.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'broker.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'broker.pem',
      '-days',
      '3650',
      '-extfile',
      'broker.ext',
    ],
    dir,
  );
  const keyStore = [
    readFileSync(join(dir, 'broker.key'), 'utf8').trim(),
    readFileSync(join(dir, 'broker.pem'), 'utf8').trim(),
    readFileSync(files.caFile, 'utf8').trim(),
    '',
  ].join('\n');
  writeFileSync(files.keyStoreFile, keyStore, { mode: 0o600 });
  return files;
}
