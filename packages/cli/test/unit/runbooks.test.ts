import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '@paysync/testkit';
import { CommandFailedError, type Io, Resources, runPayctl } from '../../src/index.ts';

// Every payctl command a runbook tells an SRE to run goes through payctl's own parser and option
// checks (what it would refuse with exit 2 before touching anything). Instead of connecting, the
// command then meets a stand-in for MySQL, Kafka and WeChat Pay that stops it: reaching it proves
// the command line is one payctl accepts.

const RUNBOOKS = join(REPO_ROOT, 'docs', 'runbooks');
const REACHED = 'reached MySQL/Kafka/WeChat Pay: the command line was accepted';

class StopBeforeConnecting extends Resources {
  override pool(): never {
    throw new CommandFailedError(REACHED);
  }
  override kafka(): never {
    throw new CommandFailedError(REACHED);
  }
  override topics(): never {
    throw new CommandFailedError(REACHED);
  }
  override async publisher(): Promise<never> {
    throw new CommandFailedError(REACHED);
  }
  override async wechat(): Promise<never> {
    throw new CommandFailedError(REACHED);
  }
}

/** What the runbooks' placeholders stand for. */
const SAMPLES: [RegExp, string][] = [
  [/<out_trade_no>/g, 'RECHARGE_ORDER_20260501_0001'],
  [/<partition:offset>/g, '0:3'],
  [/<ticket>/g, 'INC-1234'],
  [/<review_id>/g, '7'],
  [/\$OPERATOR/g, 'alice'],
];

/** The payctl commands of a page: lines of its code blocks and inline code spans (not "…" fragments). */
export function payctlCommands(markdown: string): string[] {
  const found: string[] = [];
  const blocks = markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g);
  for (const [, body] of blocks) {
    for (const line of (body ?? '').split('\n')) {
      const at = line.indexOf('payctl ');
      if (at >= 0 && (at === 0 || line.slice(0, at).endsWith('-- '))) found.push(line.slice(at));
    }
  }
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  for (const [, span] of prose.matchAll(/`(payctl [^`]+)`/g)) {
    if (span && !span.includes('…')) found.push(span);
  }
  return found;
}

/** Splits a command line as sh would (quotes, no expansion). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const [, dq, sq, bare] of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    out.push(dq ?? sq ?? bare ?? '');
  return out;
}

const commands = readdirSync(RUNBOOKS)
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) =>
    payctlCommands(readFileSync(join(RUNBOOKS, f), 'utf8')).map((c): [string, string] => [
      f,
      SAMPLES.reduce((line, [from, to]) => line.replace(from, to), c),
    ]),
  );

describe('the runbooks’ payctl commands', () => {
  it('are found on the pages', () => {
    expect(commands.length).toBeGreaterThan(30);
  });

  it.each(commands)('%s: %s', async (_page, line) => {
    const argv = words(line).slice(1);
    const out: string[] = [];
    const io: Io = {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      // A laptop's environment; in a pod, changes pass --actor (docs/runbooks/README.md).
      env: { USER: 'sre', WECHATPAY_NOTIFY_URL: 'http://localhost:8080/api/payment/wechat/callback' },
      interactive: false,
      color: false,
    };
    const code = await runPayctl(argv, io, { resources: (i) => new StopBeforeConnecting(i) });
    const said = out.join('');
    if (argv[0] === 'check-notify-url') {
      // Checks the URL's rules first: a localhost URL fails them (exit 1) without a network call.
      expect({ line, code }).toEqual({ line, code: 1 });
    } else {
      expect({ line, said: said.includes(REACHED) ? REACHED : said }).toEqual({ line, said: REACHED });
    }
  });

  it('would catch a command payctl refuses', async () => {
    const [only] = payctlCommands('Run `payctl repair --status pending --from 2h --dry-run` now.');
    expect(only).toBe('payctl repair --status pending --from 2h --dry-run');
    const out: string[] = [];
    const io: Io = {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      env: {},
      interactive: false,
      color: false,
    };
    expect(
      await runPayctl(words(only ?? '').slice(1), io, { resources: (i) => new StopBeforeConnecting(i) }),
    ).toBe(2);
    expect(out.join('')).toMatch(/repair needs --from and --to/);
  });
});
