// Key-case conversion between TypeScript (camelCase) and the wire (snake_case).
// Values under an opaque key (free-form maps such as an alert's details) keep their keys.

const OPAQUE_KEYS = new Set(['details']);

/** Schema keys are a small fixed set: each is converted once (bounded, in case of a free-form map). */
const snakeKeys = new Map<string, string>();

export const toSnake = (key: string): string => {
  let snake = snakeKeys.get(key);
  if (snake === undefined) {
    snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snakeKeys.size < 1024) snakeKeys.set(key, snake);
  }
  return snake;
};
export const toCamel = (key: string): string =>
  key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function convertKeys(value: unknown, convert: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => convertKeys(v, convert));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = convert(k);
    out[key] = OPAQUE_KEYS.has(key) ? v : convertKeys(v, convert);
  }
  return out;
}
