// Reusable frame buffers. Decoding a long video must not allocate a new buffer per frame: a
// fixed pool of buffers circulates decode → infer → encode, and a stage that wants a buffer
// while all are in use waits, which is the back-pressure that keeps memory flat.

export class Frame {
  /** Input frame index, or output frame index once handed to the encoder. */
  index = -1;
  private refs = 0;
  constructor(
    readonly data: Uint8Array,
    private readonly pool: FramePool,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) throw new Error(`frame ${this.index} released more often than retained`);
    if (--this.refs === 0) this.pool.giveBack(this);
  }
}

export class FramePool {
  private readonly free: Frame[] = [];
  private readonly waiting: ((f: Frame) => void)[] = [];
  private created = 0;

  constructor(
    readonly frameBytes: number,
    readonly capacity: number,
    /** Allocate over SharedArrayBuffers (frames handed to the model thread). */
    readonly shared = false,
  ) {}

  /** Buffers allocated so far (never more than capacity). */
  get allocated(): number {
    return this.created;
  }

  /** A buffer with one reference; waits while all `capacity` buffers are in use. */
  async acquire(): Promise<Frame> {
    const f = this.free.pop();
    if (f) return f.retain();
    if (this.created < this.capacity) {
      this.created++;
      return new Frame(new Uint8Array(this.shared ? new SharedArrayBuffer(this.frameBytes) : new ArrayBuffer(this.frameBytes)), this).retain();
    }
    return new Promise<Frame>((resolve) => this.waiting.push((fr) => resolve(fr.retain())));
  }

  /** @internal called by Frame.release */
  giveBack(f: Frame): void {
    const w = this.waiting.shift();
    if (w) w(f);
    else this.free.push(f);
  }
}
