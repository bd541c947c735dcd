// Turns one log line of a stack process into a short readable one: pino JSON lines (the paysync
// services, the sandbox) and logfmt lines (Prometheus, Alertmanager, Pushgateway) become
// `time level message key=value …`; anything else is kept as it is.

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Summary = { time: Date | undefined; level: Level; message: string; fields: string };

const PINO_LEVELS: Record<number, Level> = {
  10: 'debug',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'error',
};
const DROPPED = new Set([
  'level',
  'time',
  'ts',
  'service',
  'msg',
  'message',
  'pid',
  'hostname',
  'v',
  'caller',
]);
const MAX_VALUE = 80;

export function levelOf(raw: unknown): Level {
  if (typeof raw === 'number') return PINO_LEVELS[raw] ?? 'info';
  const s = String(raw ?? '').toLowerCase();
  if (s.startsWith('warn')) return 'warn';
  if (s === 'error' || s === 'fatal' || s === 'crit' || s === 'critical') return 'error';
  if (s === 'debug' || s === 'trace') return 'debug';
  return 'info';
}

function clip(text: string, max = MAX_VALUE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(clip(value)) : clip(value);
  if (value instanceof Object && 'message' in value && typeof value.message === 'string') {
    const type = 'type' in value && typeof value.type === 'string' ? `${value.type}: ` : '';
    return JSON.stringify(clip(`${type}${value.message}`));
  }
  return clip(JSON.stringify(value) ?? String(value));
}

function fieldsOf(entries: [string, unknown][]): string {
  return entries
    .filter(([k, v]) => !DROPPED.has(k) && v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${showValue(v)}`)
    .join(' ');
}

function parseTime(raw: unknown): Date | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function fromJson(line: string): Summary | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  const message = String(o.msg ?? o.message ?? '');
  return {
    time: parseTime(o.time ?? o.ts),
    level: levelOf(o.level),
    message,
    fields: fieldsOf(Object.entries(o)),
  };
}

const LOGFMT_PAIR = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;

function fromLogfmt(line: string): Summary | undefined {
  if (!/^(ts|time|level)=/.test(line)) return undefined;
  const entries: [string, unknown][] = [];
  for (const m of line.matchAll(LOGFMT_PAIR)) {
    const raw = m[2] ?? '';
    let value: string = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    entries.push([m[1] as string, value]);
  }
  const get = (k: string) => entries.find(([key]) => key === k)?.[1];
  return {
    time: parseTime(get('ts') ?? get('time')),
    level: levelOf(get('level')),
    message: String(get('msg') ?? ''),
    fields: fieldsOf(entries),
  };
}

/** The summary of a line, or a plain `info` line when it is neither JSON nor logfmt. */
export function summarize(line: string): Summary {
  const trimmed = line.trim();
  return (
    (trimmed.startsWith('{') ? fromJson(trimmed) : undefined) ??
    fromLogfmt(trimmed) ?? {
      time: undefined,
      level: levelOf(/\b(error|warn)/i.exec(trimmed)?.[1]),
      message: trimmed,
      fields: '',
    }
  );
}
