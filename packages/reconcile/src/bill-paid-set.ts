/**
 * The orders paid here on a bill day, out_trade_no → a number, in flat typed arrays rather than a
 * JS Map: a million orders take about 35 MB (the key's bytes, four arrays of numbers, an
 * open-addressing table of int32) instead of a Map's ~150 MB of strings and entries, and the garbage
 * collector has no million objects to walk. Exact: keys are compared byte for byte, never by hash
 * alone. An out_trade_no is ASCII (WeChat Pay allows [0-9A-Za-z_-|*]); one that is not, or longer
 * than 255, is kept in a small Map beside the table.
 */
export class PaidOrderSet {
  /** Entry index + 1 per slot (0: empty); linear probing; size a power of two. */
  #slots = new Int32Array(1 << 12);
  #keyStart = new Uint32Array(1 << 10);
  #keyLength = new Uint8Array(1 << 10);
  /** The value of each entry; NaN once taken. */
  #values = new Float64Array(1 << 10);
  #arena = new Uint8Array(1 << 14);
  #arenaUsed = 0;
  #entries = 0;
  #taken = 0;
  readonly #wide = new Map<string, number>();

  /** Keys not taken. */
  get size(): number {
    return this.#entries - this.#taken + this.#wide.size;
  }

  set(key: string, value: number): void {
    this.setFrom(key, 0, key.length, value);
  }

  /** set(text.slice(from, to), value) without making that string (the store reads packed text). */
  setFrom(text: string, from: number, to: number, value: number): void {
    const hash = hashAt(text, from, to);
    if (hash < 0) {
      this.#wide.set(text.slice(from, to), value);
      return;
    }
    const length = to - from;
    const at = this.#findAt(text, from, length, hash);
    if (at >= 0) {
      if (Number.isNaN(this.#values[at] as number)) this.#taken -= 1;
      this.#values[at] = value;
      return;
    }
    if ((this.#entries + 1) * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    const entry = this.#entries;
    if (entry === this.#values.length) this.#growEntries();
    if (this.#arenaUsed + length > this.#arena.length) this.#growArena(length);
    const start = this.#arenaUsed;
    const arena = this.#arena;
    for (let i = 0; i < length; i++) arena[start + i] = text.charCodeAt(from + i);
    this.#arenaUsed += length;
    this.#keyStart[entry] = start;
    this.#keyLength[entry] = length;
    this.#values[entry] = value;
    this.#entries += 1;
    this.#place(entry, hash);
  }

  /** The key's value, taken out (a later take of it finds nothing); undefined if absent. */
  take(key: string): number | undefined {
    const hash = hashAt(key, 0, key.length);
    if (hash < 0) {
      const v = this.#wide.get(key);
      this.#wide.delete(key);
      return v;
    }
    const at = this.#findAt(key, 0, key.length, hash);
    if (at < 0) return undefined;
    const v = this.#values[at] as number;
    if (Number.isNaN(v)) return undefined;
    this.#values[at] = Number.NaN;
    this.#taken += 1;
    return v;
  }

  /** The keys not taken, with their values. */
  *remaining(): Generator<[string, number]> {
    const text = Buffer.from(this.#arena.buffer, this.#arena.byteOffset, this.#arena.byteLength);
    for (let e = 0; e < this.#entries; e++) {
      const v = this.#values[e] as number;
      if (Number.isNaN(v)) continue;
      const start = this.#keyStart[e] as number;
      yield [text.toString('latin1', start, start + (this.#keyLength[e] as number)), v];
    }
    yield* this.#wide;
  }

  /** The entry holding text[from, from + length), or -1. */
  #findAt(text: string, from: number, length: number, hash: number): number {
    const mask = this.#slots.length - 1;
    const arena = this.#arena;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const e = (this.#slots[slot] as number) - 1;
      if (e < 0) return -1;
      if (this.#keyLength[e] !== length) continue;
      const start = this.#keyStart[e] as number;
      let i = 0;
      while (i < length && arena[start + i] === text.charCodeAt(from + i)) i++;
      if (i === length) return e;
    }
  }

  #place(entry: number, hash: number): void {
    const mask = this.#slots.length - 1;
    let slot = hash & mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = entry + 1;
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size);
    for (let e = 0; e < this.#entries; e++) {
      const start = this.#keyStart[e] as number;
      this.#place(e, hashOfBytes(this.#arena, start, start + (this.#keyLength[e] as number)));
    }
  }

  #growEntries(): void {
    const n = this.#values.length * 2;
    const keyStart = new Uint32Array(n);
    keyStart.set(this.#keyStart);
    this.#keyStart = keyStart;
    const keyLength = new Uint8Array(n);
    keyLength.set(this.#keyLength);
    this.#keyLength = keyLength;
    const values = new Float64Array(n);
    values.set(this.#values);
    this.#values = values;
  }

  #growArena(need: number): void {
    const arena = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + need));
    arena.set(this.#arena.subarray(0, this.#arenaUsed));
    this.#arena = arena;
  }
}

/**
 * FNV-1a over the characters (each a byte here), then MurmurHash3's finalizer: a multiply only
 * carries upwards, so without it the low bits the table uses would depend on the low bits of the
 * characters alone, and numbered keys (`…000123`) would cluster. -1 when text[from, to) is not a
 * table key: longer than 255 or a character beyond U+00FF (such keys live in the Map beside it).
 */
function hashAt(text: string, from: number, to: number): number {
  if (to - from > 255) return -1;
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return -1;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return mix(h);
}

function hashOfBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return mix(h);
}

function mix(hash: number): number {
  let h = hash;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
