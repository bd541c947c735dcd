import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { brokenLinks, githubSlug, markdownFiles } from '../docs/markdown-links.ts';

// Docs say each thing once and link to it; a link that no longer resolves is drift nobody sees.
// Every relative link in the repository's Markdown must name a file that exists and, with an
// anchor into a Markdown file, one of its headings (GitHub's slugs). External links only to the
// documented references (EXTERNAL_REFERENCES), never fetched.

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const describe_ = (b: { file: string; line: number; target: string; problem: string }) =>
  `${b.file}:${b.line} (${b.target}): ${b.problem}`;

describe('links in the Markdown', () => {
  it('all resolve', async () => {
    const files = await markdownFiles(root);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/DESIGN.md', 'packages/cli/README.md']));
    expect(files.some((f) => f.includes('node_modules/'))).toBe(false);
    expect((await brokenLinks(root)).map(describe_)).toEqual([]);
  });

  it('slugs headings as GitHub does', () => {
    expect(githubSlug('T+1 trade-bill reconciliation')).toBe('t1-trade-bill-reconciliation');
    expect(githubSlug('End-to-end latency (`npm run bench -- e2e-latency`)')).toBe(
      'end-to-end-latency-npm-run-bench----e2e-latency',
    );
    expect(githubSlug('`payctl replay <out_trade_no> --reason <text> [--reapply]`')).toBe(
      'payctl-replay-out_trade_no---reason-text---reapply',
    );
    expect(githubSlug('Kafka: authentication and [ACLs](x.md)')).toBe('kafka-authentication-and-acls');
  });

  it('finds a broken link planted in a sample repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paysync-links-'));
    scratch.push(dir);
    await run('git', ['init', '-q'], { cwd: dir });
    await mkdir(join(dir, 'docs'));
    await writeFile(
      join(dir, 'docs', 'guide.md'),
      '# Guide\n\n## Set up\n\n## Set up\n\n<a id="legacy"></a>\n\n```sh\n[not a link](missing-in-code.md)\n```\n',
    );
    await writeFile(
      join(dir, 'README.md'),
      [
        '# Sample',
        '',
        'Good: [guide](docs/guide.md), [its set-up](docs/guide.md#set-up), [the second](docs/guide.md#set-up-1),',
        '[legacy](docs/guide.md#legacy), [here](#sample), [the folder](docs/), [root](/docs/guide.md),',
        '`[in code](nowhere.md)`, [the WeChat Pay docs](https://pay.weixin.qq.com/doc/v3/merchant/4012791897).',
        '',
        'Broken: [gone](docs/gone.md), [no such heading](docs/guide.md#install), [here](#nowhere),',
        '[outside](../../shared/WECHATPAY.md), [elsewhere](https://example.com/page), `../../shared/DESIGN.md`.',
        '',
        '[ref]: docs/also-gone.md',
      ].join('\n'),
    );
    const found = (await brokenLinks(dir)).map((b) => `${b.file}:${b.line} ${b.target}`);
    expect(found).toEqual([
      'README.md:7 docs/gone.md',
      'README.md:7 docs/guide.md#install',
      'README.md:7 #nowhere',
      'README.md:8 ../../shared/WECHATPAY.md',
      'README.md:8 https://example.com/page',
      'README.md:8 ../../shared/DESIGN.md',
      'README.md:10 docs/also-gone.md',
    ]);
  });
});
