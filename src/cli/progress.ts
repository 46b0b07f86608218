/** `[########------------]  40%  400/1000 enqueued`: one line, redrawn in place with a carriage return. */
export function renderProgress(done: number, total: number, { width = 30, label = '' } = {}): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}  ${done}/${total}${label ? ` ${label}` : ''}`;
}

export interface ProgressReporter {
  update(done: number): void;
  finish(): void;
}

/**
 * A progress bar on a terminal; a plain line per update elsewhere (logs, pipes), and nothing at all
 * when `quiet` (JSON output).
 */
export function progressReporter(
  stream: { write(text: string): unknown; isTTY?: boolean },
  total: number,
  { label = '', quiet = false } = {},
): ProgressReporter {
  if (quiet) return { update() {}, finish() {} };
  if (!stream.isTTY) {
    return {
      update: (done) => void stream.write(`${label} ${done}/${total}\n`.trimStart()),
      finish() {},
    };
  }
  return {
    update: (done) => void stream.write(`\r${renderProgress(done, total, { label })}\x1b[K`),
    finish: () => void stream.write('\n'),
  };
}
