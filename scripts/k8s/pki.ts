// The test cluster's credentials, made with openssl: a CA, the API server's serving certificate
// (127.0.0.1 / localhost / kubernetes.default.svc), the service-account signing key pair and a static
// admin token (group system:masters). Everything is written into one directory, readable by root only.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from '../infra/errors.ts';
import { run } from '../infra/proc.ts';

export type Pki = {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  saKeyFile: string;
  saPubFile: string;
  tokenFile: string;
  /** Bearer token of the `paysync-admin` user (system:masters). */
  adminToken: string;
};

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('openssl', args, { cwd });
  if (r.code !== 0)
    throw new InfraError('OPENSSL', `openssl ${args[0]} failed: ${r.stderr.trim().slice(0, 500)}`);
}

export async function createPki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '7',
      '-subj',
      '/CN=paysync-test-ca',
    ],
    dir,
  );
  await openssl(
    [
      'req',
      '-new',
      ...ec,
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.csr',
      '-subj',
      '/CN=kube-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '7',
      '-copy_extensions',
      'copyall',
      '-out',
      'apiserver.crt',
    ],
    dir,
  );
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${adminToken},paysync-admin,paysync-admin,"system:masters"\n`, { mode: 0o600 });
  for (const f of ['ca.key', 'apiserver.key', 'sa.key']) chmodSync(join(dir, f), 0o600);
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    certFile: join(dir, 'apiserver.crt'),
    keyFile: join(dir, 'apiserver.key'),
    saKeyFile: join(dir, 'sa.key'),
    saPubFile: join(dir, 'sa.pub'),
    tokenFile,
    adminToken,
  };
}

/** A kubeconfig for the admin user (what kubectl, helm and @kubernetes/client-node read). */
export function kubeconfigYaml(server: string, pki: Pki): string {
  const ca = Buffer.from(pki.caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
  - name: paysync-test
    cluster:
      server: ${server}
      certificate-authority-data: ${ca}
users:
  - name: paysync-admin
    user:
      token: ${pki.adminToken}
contexts:
  - name: paysync-test
    context:
      cluster: paysync-test
      user: paysync-admin
      namespace: default
current-context: paysync-test
`;
}
