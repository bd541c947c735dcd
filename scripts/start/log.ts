// One combined, readable log for every process of the stack: a coloured name column, each JSON or
// logfmt line summarized, and each process's raw output kept in its own file for the details.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { type Level, summarize } from './summarize.ts';

export type LogOptions = {
  /** Print to stdout: every line at `info` and above, only warnings and errors, or nothing. */
  console: 'info' | 'warn' | 'off';
  /** ANSI colours (default: when stdout is a terminal). */
  colour?: boolean;
  /** Raw output of each process goes to `<dir>/<name>.log`. */
  dir?: string;
  /** Sources shown on the console only from `warn` up (chatty servers such as Prometheus). */
  quiet?: readonly string[];
};

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const PALETTE = [36, 35, 34, 32, 33, 96, 95, 94, 92, 93];
const NAME_WIDTH = 12;
const KEEP_LINES = 300;

export class CombinedLog {
  readonly #opts: LogOptions;
  readonly #colour: boolean;
  readonly #files = new Map<string, WriteStream>();
  readonly #recent = new Map<string, string[]>();
  readonly #colours = new Map<string, number>();

  constructor(opts: LogOptions) {
    this.#opts = opts;
    this.#colour = opts.colour ?? (process.stdout.isTTY === true && !('NO_COLOR' in process.env));
    if (opts.dir) mkdirSync(opts.dir, { recursive: true });
  }

  /** A line a process wrote: raw to its file, summarized to the console. */
  line(source: string, raw: string): void {
    this.#file(source)?.write(`${raw}\n`);
    this.#remember(source, raw);
    const s = summarize(raw);
    if (!this.#shown(source, s.level)) return;
    const text = [s.message, s.fields].filter(Boolean).join(' ');
    this.#print(source, s.level, s.time ?? new Date(), text);
  }

  /** A line of the supervisor itself about `source`. */
  note(source: string, message: string, level: Level = 'info'): void {
    this.#file('supervisor')?.write(`${new Date().toISOString()} ${level} [${source}] ${message}\n`);
    this.#remember(source, `[supervisor] ${message}`);
    if (this.#opts.console === 'off' || RANK[level] < RANK[this.#opts.console === 'warn' ? 'warn' : 'info'])
      return;
    this.#print(source, level, new Date(), message);
  }

  /** Several lines printed as they are under one name (a mail, a robot message, the banner). */
  block(source: string, lines: readonly string[]): void {
    for (const l of lines) this.#file(source)?.write(`${l}\n`);
    if (this.#opts.console !== 'info') return;
    for (const l of lines) process.stdout.write(`${this.#name(source)} ${l}\n`);
  }

  /** The last lines a process wrote (for error messages). */
  recent(source: string, n = 20): string[] {
    return (this.#recent.get(source) ?? []).slice(-n);
  }

  async close(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map((f) => new Promise<void>((resolve) => f.end(resolve))));
  }

  #shown(source: string, level: Level): boolean {
    if (this.#opts.console === 'off') return false;
    const min = this.#opts.console === 'warn' || this.#opts.quiet?.includes(source) ? 'warn' : 'info';
    return RANK[level] >= RANK[min];
  }

  #file(source: string): WriteStream | undefined {
    if (!this.#opts.dir) return undefined;
    let f = this.#files.get(source);
    if (!f) {
      f = createWriteStream(join(this.#opts.dir, `${source}.log`), { flags: 'a' });
      f.on('error', () => {}); // a full disk must not stop the stack
      this.#files.set(source, f);
    }
    return f;
  }

  #remember(source: string, raw: string): void {
    const lines = this.#recent.get(source) ?? [];
    if (lines.length === 0) this.#recent.set(source, lines);
    lines.push(raw);
    if (lines.length > KEEP_LINES) lines.shift();
  }

  #name(source: string): string {
    const label = source.padEnd(NAME_WIDTH).slice(0, NAME_WIDTH);
    if (!this.#colour) return `${label}│`;
    let c = this.#colours.get(source);
    if (c === undefined) {
      c = PALETTE[this.#colours.size % PALETTE.length] as number;
      this.#colours.set(source, c);
    }
    return `\x1b[${c}m${label}\x1b[0m│`;
  }

  #print(source: string, level: Level, time: Date, text: string): void {
    const clock = time.toTimeString().slice(0, 8);
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
    const width = process.stdout.columns && process.stdout.isTTY ? process.stdout.columns : 240;
    const room = width - NAME_WIDTH - 2;
    // A message of several lines (a start-up refusal, a stack trace) keeps its lines, indented.
    const [first = '', ...more] = text.split('\n');
    const lines = [`${clock} ${tag}${first}`, ...more.map((l) => `         ${l}`)];
    for (let body of lines) {
      if (body.length > room && room > 20) body = `${body.slice(0, room - 1)}…`;
      if (this.#colour && level !== 'info') {
        const c = level === 'error' ? 31 : level === 'warn' ? 33 : 90;
        body = `\x1b[${c}m${body}\x1b[0m`;
      }
      process.stdout.write(`${this.#name(source)} ${body}\n`);
    }
  }
}
