// A bounded async queue: the joint between two pipeline stages. `push` waits while the queue is
// full (back-pressure: a fast decoder cannot run ahead of a slow model), `pull` waits while it is
// empty, and `fail` wakes both sides with the error so that one failing stage stops the others.

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: unknown = null;
  private readonly waitingPull: (() => void)[] = [];
  private readonly waitingPush: (() => void)[] = [];
  /** The most items ever held at once (tests check that back-pressure bounds it). */
  peak = 0;

  constructor(
    readonly capacity: number,
    readonly name = 'queue',
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${name}: capacity must be a positive integer`);
  }

  get size(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed && this.error === null) {
      await new Promise<void>((r) => this.waitingPush.push(r));
    }
    if (this.error !== null) throw this.error;
    if (this.closed) throw new Error(`${this.name}: push after close`);
    this.items.push(item);
    if (this.items.length > this.peak) this.peak = this.items.length;
    this.waitingPull.shift()?.();
  }

  /** The next item, or undefined once the queue is closed and drained. */
  async pull(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed && this.error === null) {
      await new Promise<void>((r) => this.waitingPull.push(r));
    }
    if (this.error !== null) throw this.error;
    const item = this.items.shift();
    this.waitingPush.shift()?.();
    return item;
  }

  /** No more items will come; pulls drain what is left, then return undefined. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  /** Both sides throw `error` from now on; items still queued are handed to `drop`. */
  fail(error: unknown, drop?: (item: T) => void): void {
    if (this.error !== null) return;
    this.error = error ?? new Error(`${this.name} failed`);
    if (drop) for (const it of this.items.splice(0)) drop(it);
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of this.waitingPull.splice(0)) w();
    for (const w of this.waitingPush.splice(0)) w();
  }
}
