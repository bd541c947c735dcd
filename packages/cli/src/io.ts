import { styleText } from 'node:util';

/** Where payctl writes, what it reads from its environment, and whether the terminal is interactive. */
export type Io = {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  /** stderr is a terminal: progress bars are drawn there. */
  interactive: boolean;
  /** ANSI colours in tables (a terminal, and NO_COLOR not set). */
  color: boolean;
  /** The stream progress bars draw on. */
  progressStream?: NodeJS.WritableStream;
};

export function processIo(): Io {
  const tty = Boolean(process.stderr.isTTY);
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    interactive: tty,
    color: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
    progressStream: process.stderr,
  };
}

type Style = 'red' | 'green' | 'yellow' | 'bold' | 'dim';

export function paint(io: Io, style: Style, text: string): string {
  return io.color ? styleText(style, text) : text;
}
