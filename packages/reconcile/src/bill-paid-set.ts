/**
 * The orders paid here on a bill day, out_trade_no → a number, in flat typed arrays rather than a
 * JS Map: a million orders take about 50 MB (an open-addressing table of 16-byte records and the
 * keys' bytes) instead of a Map's ~150 MB of strings and entries, and the garbage collector has no
 * million objects to walk. Exact: keys are compared byte for byte, never by hash alone.
 *
 * Built for memory that is far away. A table of a million keys is much larger than the processor's
 * near caches, so each record is one place to look: the key's full 32-bit hash, where its bytes are,
 * its length, whether it was taken, and its value, side by side; a probe passes over other keys by
 * their hash without reading them, and growing the table moves records without hashing a key again.
 * takeMany() looks a whole batch up in stages (all the hashes and their records first, then all the
 * keys' bytes, then the comparisons): the memory reads of a stage do not wait for one another, so
 * the processor makes them at the same time instead of one after the other — a bill's rows come in
 * no useful order, and a one-at-a-time lookup waits for memory three or four times in a row.
 *
 * An out_trade_no is ASCII (WeChat Pay allows [0-9A-Za-z_-|*]) and a value here is an order's packed
 * amount (packOrder: below 2^31 for anything under ten million yuan); a key that is not one byte a
 * character or longer than 255, or a value beyond 32 bits, is kept in a small Map beside the table.
 */
export class PaidOrderSet {
  /** RECORD ints per slot: [hash, key start + 1 (0: empty), value, key length | TAKEN]; size a power of two. */
  #slots = new Int32Array(RECORD << 12);
  #arena = new Uint8Array(1 << 14);
  #arenaUsed = 0;
  #entries = 0;
  #taken = 0;
  readonly #wide = new Map<string, number>();
  /** Per lookup of a batch: the key's hash, then the slot found (or -1). */
  #hashes = new Int32Array(256);
  #found = new Int32Array(256);

  /** Keys not taken. */
  get size(): number {
    return this.#entries - this.#taken + this.#wide.size;
  }

  set(key: string, value: number): void {
    this.#setHashed(key, 0, key.length, hashAt(key, 0, key.length), value);
  }

  #setHashed(text: string, from: number, to: number, hash: number, value: number): void {
    const length = to - from;
    const at = hash === WIDE ? -1 : this.#find(text, from, length, hash);
    if (hash === WIDE || (value | 0) !== value) {
      // Out of the table's reach: the Map holds it (and the table no longer does).
      if (at >= 0) this.#takeAt(at);
      this.#wide.set(text.slice(from, to), value);
      return;
    }
    if (this.#wide.size > 0) this.#wide.delete(text.slice(from, to));
    const slots = this.#slots;
    if (at >= 0) {
      if ((slots[at + 3] as number) & TAKEN) this.#taken -= 1;
      slots[at + 2] = value;
      slots[at + 3] = length;
      return;
    }
    if ((this.#entries + 1) * RECORD * 2 > slots.length) this.#grow(slots.length * 2);
    if (this.#arenaUsed + length > this.#arena.length) this.#growArena(length);
    const start = this.#arenaUsed;
    const arena = this.#arena;
    for (let i = 0; i < length; i++) arena[start + i] = text.charCodeAt(from + i);
    this.#arenaUsed += length;
    this.#entries += 1;
    this.#place(this.#slots, hash, start + 1, value, length);
  }

  /** The key's value, taken out (a later take of it finds nothing); undefined if absent. */
  take(key: string): number | undefined {
    const hash = hashAt(key, 0, key.length);
    const at = hash === WIDE ? -1 : this.#find(key, 0, key.length, hash);
    return (at >= 0 ? this.#takeAt(at) : undefined) ?? this.#takeWide(key, 0, key.length);
  }

  /** Room for n keys in all, so that a batch does not grow the table on the way. */
  #reserve(n: number): void {
    let length = this.#slots.length;
    while (n * RECORD * 2 > length) length *= 2;
    if (length > this.#slots.length) this.#grow(length);
  }

  /** set() of n keys at once, text[starts[i], ends[i]) → values[i], in stages (see above). */
  setMany(text: string, starts: Int32Array, ends: Int32Array, values: Float64Array, n: number): void {
    this.#reserve(this.#entries + n);
    this.#touch(text, starts, ends, n);
    const hashes = this.#hashes;
    for (let i = 0; i < n; i++)
      this.#setHashed(text, starts[i] as number, ends[i] as number, hashes[i] as number, values[i] as number);
  }

  /**
   * take() of n keys at once, text[starts[i], ends[i]): values[i] is the value, or NaN where the
   * key is absent (or taken already). The same answers as n takes, in stages (see above).
   */
  takeMany(text: string, starts: Int32Array, ends: Int32Array, n: number, values: Float64Array): void {
    this.#touch(text, starts, ends, n);
    const hashes = this.#hashes;
    const found = this.#found;
    const slots = this.#slots;
    const arena = this.#arena;
    const mask = slots.length - RECORD;
    // The first record of the key's hash and length (nearly always the key): its bytes touched.
    let touched = 0;
    for (let i = 0; i < n; i++) {
      const hash = hashes[i] as number;
      const length = (ends[i] as number) - (starts[i] as number);
      let at = (hash << 2) & mask;
      while (slots[at + 1] !== 0 && (slots[at] !== hash || slots[at + 3] !== length))
        at = (at + RECORD) & mask;
      const start = slots[at + 1] as number;
      found[i] = start === 0 || hash === WIDE ? -1 : at;
      if (start !== 0) touched ^= arena[start - 1] as number;
    }
    found[n] = touched;
    for (let i = 0; i < n; i++) {
      const from = starts[i] as number;
      const to = ends[i] as number;
      let at = found[i] as number;
      if (at >= 0 && !this.#holds(at, text, from, to - from))
        at = this.#find(text, from, to - from, hashes[i] as number);
      values[i] = (at >= 0 ? this.#takeAt(at) : undefined) ?? this.#takeWide(text, from, to) ?? Number.NaN;
    }
  }

  /**
   * The first two stages of a batch: every key's hash into #hashes, then a read of each one's first
   * slot. The reads are independent and the loop holds little else, so the processor has many of
   * them under way at once; the stage after finds those slots in its cache. What the reads read goes
   * to #found[n], only so that they are not optimised away.
   */
  #touch(text: string, starts: Int32Array, ends: Int32Array, n: number): void {
    if (this.#found.length <= n) {
      this.#hashes = new Int32Array(n);
      this.#found = new Int32Array(n + 1);
    }
    const hashes = this.#hashes;
    for (let i = 0; i < n; i++) hashes[i] = hashAt(text, starts[i] as number, ends[i] as number);
    const slots = this.#slots;
    const mask = slots.length - RECORD;
    let touched = 0;
    for (let i = 0; i < n; i++) touched ^= slots[((hashes[i] as number) << 2) & mask] as number;
    this.#found[n] = touched;
  }

  /** The keys not taken, with their values. */
  *remaining(): Generator<[string, number]> {
    const text = Buffer.from(this.#arena.buffer, this.#arena.byteOffset, this.#arena.byteLength);
    const slots = this.#slots;
    for (let at = 0; at < slots.length; at += RECORD) {
      const start = (slots[at + 1] as number) - 1;
      const length = slots[at + 3] as number;
      if (start < 0 || length & TAKEN) continue;
      yield [text.toString('latin1', start, start + length), slots[at + 2] as number];
    }
    yield* this.#wide;
  }

  #takeAt(at: number): number | undefined {
    const slots = this.#slots;
    const length = slots[at + 3] as number;
    if (length & TAKEN) return undefined;
    slots[at + 3] = length | TAKEN;
    this.#taken += 1;
    return slots[at + 2] as number;
  }

  #takeWide(text: string, from: number, to: number): number | undefined {
    if (this.#wide.size === 0) return undefined;
    const key = text.slice(from, to);
    const v = this.#wide.get(key);
    this.#wide.delete(key);
    return v;
  }

  /** Whether the record at `at` holds text[from, from + length) (taken or not). */
  #holds(at: number, text: string, from: number, length: number): boolean {
    const slots = this.#slots;
    if (((slots[at + 3] as number) & ~TAKEN) !== length) return false;
    const arena = this.#arena;
    const start = (slots[at + 1] as number) - 1;
    let i = 0;
    while (i < length && arena[start + i] === text.charCodeAt(from + i)) i++;
    return i === length;
  }

  /** The record holding text[from, from + length), taken or not, or -1. */
  #find(text: string, from: number, length: number, hash: number): number {
    const slots = this.#slots;
    const mask = slots.length - RECORD;
    for (let at = (hash << 2) & mask; slots[at + 1] !== 0; at = (at + RECORD) & mask)
      if (slots[at] === hash && this.#holds(at, text, from, length)) return at;
    return -1;
  }

  #place(slots: Int32Array, hash: number, startPlusOne: number, value: number, length: number): void {
    const mask = slots.length - RECORD;
    let at = (hash << 2) & mask;
    while (slots[at + 1] !== 0) at = (at + RECORD) & mask;
    slots[at] = hash;
    slots[at + 1] = startPlusOne;
    slots[at + 2] = value;
    slots[at + 3] = length;
  }

  /** A larger table (`length` ints), filled from the records' hashes (no key is read again). */
  #grow(length: number): void {
    const old = this.#slots;
    const slots = new Int32Array(length);
    for (let at = 0; at < old.length; at += RECORD)
      if (old[at + 1] !== 0)
        this.#place(
          slots,
          old[at] as number,
          old[at + 1] as number,
          old[at + 2] as number,
          old[at + 3] as number,
        );
    this.#slots = slots;
  }

  #growArena(need: number): void {
    const arena = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + need));
    arena.set(this.#arena.subarray(0, this.#arenaUsed));
    this.#arena = arena;
  }
}

const RECORD = 4;
/** The key-length field's flag for a key taken out. */
const TAKEN = 1 << 30;
/** hashAt's answer for a key the table does not hold (it lives in the Map beside it). */
const WIDE = -1;

/**
 * FNV-1a over the characters (each a byte here), then MurmurHash3's finalizer: a multiply only
 * carries upwards, so without it the low bits the table uses would depend on the low bits of the
 * characters alone, and numbered keys (`…000123`) would cluster. A signed 32-bit value (what a record
 * holds); WIDE when text[from, to) is not a table key: longer than 255 or a character beyond U+00FF.
 */
function hashAt(text: string, from: number, to: number): number {
  if (to - from > 255) return WIDE;
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return WIDE;
    h = Math.imul(h ^ c, 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  // -1 is WIDE: that one hash in 2^32 is folded onto its neighbour (the key is compared anyway).
  return h === WIDE ? -2 : h;
}
