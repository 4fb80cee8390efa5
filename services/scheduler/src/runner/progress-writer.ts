import type { RunProgress } from '@contender/pipeline';

/**
 * Throttles a step's progress writes: the first goes out at once, later ones at most every
 * `intervalMs`, and the latest value is never lost (a trailing write follows the last call).
 */
export class ProgressWriter {
  private pending: (RunProgress & { step: string }) | null = null;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly step: string,
    private readonly intervalMs: number,
    private readonly write: (p: RunProgress & { step: string }) => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  report(p: RunProgress): void {
    if (this.closed) return;
    this.pending = { ...p, step: this.step };
    if (this.timer) return;
    const wait = this.lastWrite + this.intervalMs - this.now();
    if (wait <= 0) this.flush();
    else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  private flush(): void {
    const p = this.pending;
    if (!p || this.closed) return;
    this.pending = null;
    this.lastWrite = this.now();
    this.write(p).catch(() => {});
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
