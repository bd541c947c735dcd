import { MalformedError } from './errors.ts';

/** Anything header-like: a fetch `Headers`, node's `IncomingHttpHeaders`, undici's response headers, a plain map. */
export type HeaderInput =
  | Headers
  | Record<string, string | string[] | undefined>
  | Iterable<readonly [string, string]>;

/** Case-insensitive header lookup. Looking up a header that arrived more than once is MalformedError. */
export type HeaderLookup = (name: string) => string | undefined;

export function headerLookup(headers: HeaderInput): HeaderLookup {
  const map = new Map<string, string | null>();
  const put = (name: unknown, value: unknown): void => {
    if (value === undefined || typeof name !== 'string') return;
    const key = name.toLowerCase();
    // null marks a header that cannot be trusted: repeated, or not a string.
    map.set(key, typeof value !== 'string' || map.has(key) ? null : value);
  };
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    // fetch Headers joins repeats with ", " — indistinguishable here, and no Wechatpay-* value has a comma.
    for (const [name, value] of headers) put(name, value);
  } else if (isIterable(headers)) {
    for (const entry of headers) put(entry?.[0], entry?.[1]);
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) put(name, value);
  } else {
    throw new MalformedError('headers are missing');
  }
  return (name) => {
    const value = map.get(name.toLowerCase());
    if (value === null) throw new MalformedError(`header ${name} is repeated or not text`);
    return value;
  };
}

function isIterable(value: unknown): value is Iterable<readonly [string, string]> {
  return value !== null && typeof value === 'object' && Symbol.iterator in value;
}
