// The stack's credentials, generated for each start and handed to the processes as files (mode
// 0600), the way Kubernetes mounts Secrets: the merchant's API key and APIv3 key (the sandbox knows
// the matching public key), the order-API token, the Alertmanager webhook token and the robots'
// secrets. Nothing here is ever printed; the banner shows file paths only.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTestMerchant, type TestMerchant } from '@paysync/wechatpay-sandbox';

export type StackSecrets = {
  merchant: { mchid: string; appid: string; certificateSerial: string };
  apiToken: string;
  webhookToken: string;
  dingtalk: { accessToken: string; secret: string };
  wecomKey: string;
  files: {
    dir: string;
    privateKey: string;
    apiV3Key: string;
    /** The sandbox's `--merchants-file`: the merchant as WeChat knows it (public key, APIv3 key). */
    merchants: string;
    apiToken: string;
    webhookToken: string;
    dingtalkSecret: string;
  };
};

const token = () => randomBytes(24).toString('hex');

/** Writes the secrets for one stack under `<dir>/secrets`, for a new merchant unless one is given. */
export async function writeSecrets(dir: string, given?: TestMerchant): Promise<StackSecrets> {
  const merchant = given ?? (await generateTestMerchant());
  const secretsDir = join(dir, 'secrets');
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  const files: StackSecrets['files'] = {
    dir: secretsDir,
    privateKey: join(secretsDir, 'apiclient_key.pem'),
    apiV3Key: join(secretsDir, 'apiv3.key'),
    merchants: join(secretsDir, 'sandbox-merchants.json'),
    apiToken: join(secretsDir, 'api-token'),
    webhookToken: join(secretsDir, 'alerting-webhook-token'),
    dingtalkSecret: join(secretsDir, 'dingtalk-secret'),
  };
  const secrets: StackSecrets = {
    merchant: { mchid: merchant.mchid, appid: merchant.appid, certificateSerial: merchant.certificateSerial },
    apiToken: token(),
    webhookToken: token(),
    dingtalk: { accessToken: token(), secret: `SEC${token()}` },
    wecomKey: token(),
    files,
  };
  const write = (path: string, text: string) => writeFile(path, text, { mode: 0o600 });
  await write(files.privateKey, merchant.privateKeyPem);
  await write(files.apiV3Key, merchant.apiV3Key);
  await write(
    files.merchants,
    `${JSON.stringify([
      {
        mchid: merchant.mchid,
        appids: merchant.appids,
        apiV3Key: merchant.apiV3Key,
        certificateSerial: merchant.certificateSerial,
        publicKeyPem: merchant.publicKeyPem,
      },
    ])}\n`,
  );
  await write(files.apiToken, `${secrets.apiToken}\n`);
  await write(files.webhookToken, `${secrets.webhookToken}\n`);
  await write(files.dingtalkSecret, `${secrets.dingtalk.secret}\n`);
  return secrets;
}
