/** Where progress goes: a TTY gets a redrawn bar, anything else (CI logs, pipes) plain lines. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  /** `done` units of `total` finished; `status` is shown after the counter (e.g. the validation loss). */
  update(done: number, status: string): void;
  /** Ends the bar (a TTY line is finished with a newline); `status` replaces the last one. */
  finish(status?: string): void;
}

const BAR_WIDTH = 28;
/** Redraw at most this often on a TTY: a fast trainer reports thousands of rounds per second. */
const TTY_INTERVAL_MS = 80;
/** Without a TTY, one line per this share of the total keeps logs short. */
const PLAIN_STEP = 0.1;

export function createProgress(stream: ProgressStream, total: number, label: string): Progress {
  let last = { done: 0, status: '' };
  let lastDraw = 0;
  let nextPlain = 0;
  let finished = false;
  const counter = (done: number): string => `${String(done).padStart(String(total).length)}/${total}`;

  const drawTty = (done: number, status: string): void => {
    const filled = Math.round((Math.min(done, total) / total) * BAR_WIDTH);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${counter(done)}  ${status}`;
    // A pseudo-terminal can report 0 columns.
    const width = stream.columns || 100;
    // \r + clear-to-end-of-line redraws in place; truncating keeps a long status from wrapping.
    stream.write(`\r${line.slice(0, Math.max(10, width - 1))}\x1b[K`);
  };

  return {
    update(done, status) {
      last = { done, status };
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw >= TTY_INTERVAL_MS) {
          lastDraw = now;
          drawTty(done, status);
        }
      } else if (done >= nextPlain) {
        stream.write(`${label} ${counter(done)}  ${status}\n`);
        nextPlain = done + Math.max(1, Math.round(total * PLAIN_STEP));
      }
    },
    finish(status) {
      if (finished) return;
      finished = true;
      const text = status ?? last.status;
      if (stream.isTTY) {
        drawTty(last.done, text);
        stream.write('\n');
      } else {
        stream.write(`${label} ${counter(last.done)}  ${text}\n`);
      }
    },
  };
}
