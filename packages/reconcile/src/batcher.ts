type Pending<T> = { items: T[]; resolve: () => void; reject: (err: unknown) => void };

/**
 * Groups concurrent writes: while one flush is in flight, new items wait and go out together in
 * the next one. Each caller's promise settles when its own items were flushed. Items added in one
 * call stay contiguous and in order (a flush may split a long call only at maxBatch boundaries,
 * and flushes run one after another). With `lingerMs`, the first item of an idle batcher waits
 * that long for company: fewer, larger writes for callers that can afford the delay (a sweep).
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  readonly #lingerMs: number;
  #queue: Pending<T>[] = [];
  #running: Promise<void> | undefined;

  constructor(flush: (items: T[]) => Promise<void>, opts: { maxBatch?: number; lingerMs?: number } = {}) {
    this.#flush = flush;
    this.#maxBatch = opts.maxBatch ?? 500;
    this.#lingerMs = opts.lingerMs ?? 0;
  }

  add(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => {
      this.#queue.push({ items: [...items], resolve, reject });
    });
    // The drain clears #running itself, in the same synchronous step as its last look at the queue:
    // an add() that comes after that look always starts a new drain. (Clearing it in a .finally()
    // callback left a gap of one microtask — exactly where a caller that awaited its previous add()
    // adds again — and stranded that caller's items in the queue for good.)
    if (this.#running === undefined) this.#running = this.#drain();
    return done;
  }

  /** Resolves once everything added so far was flushed (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    // The queue is never empty here (add() pushes before it starts a drain), and every flush is
    // awaited, so the drain yields before it can end: add() has set #running by then.
    if (this.#lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#lingerMs));
    for (;;) {
      if (this.#queue.length === 0) {
        this.#running = undefined;
        return;
      }
      const group: Pending<T>[] = [];
      let size = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0] as Pending<T>;
        if (size > 0 && size + next.items.length > this.#maxBatch) break;
        group.push(next);
        size += next.items.length;
        this.#queue.shift();
      }
      try {
        const items = group.flatMap((p) => p.items);
        for (let i = 0; i < items.length; i += this.#maxBatch) {
          await this.#flush(items.slice(i, i + this.#maxBatch));
        }
        for (const p of group) p.resolve();
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  }
}
