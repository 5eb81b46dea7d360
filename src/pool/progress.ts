/**
 * Progress of map-like calls: the `onProgress` callback type, and what
 * `progress: true` shows on stderr. On a terminal that is a cli-progress
 * bar redrawn in place; otherwise (a log file, CI) plain lines at every
 * tenth of the work, so that logs stay readable.
 */
import { createRequire } from 'node:module';

type CliProgress = typeof import('cli-progress');
let cliProgress: CliProgress | undefined;

/**
 * cli-progress, loaded for the first bar: with string-width, emoji-regex and
 * the rest it is ~25 CommonJS modules, which every process importing the
 * library (each child, each zygote) loaded for a bar only a terminal shows.
 */
function barLibrary(): CliProgress {
  cliProgress ??= createRequire(import.meta.url)('cli-progress') as CliProgress;
  return cliProgress;
}

/** Called as chunks complete: items completed so far, and the total (null when the input's length is unknown). */
export type ProgressCallback = (completed: number, total: number | null) => void;

/** Where a progress display writes; process.stderr by default. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** A display that is fed counts and stopped once; `finish` is safe to call more than once. */
export interface ProgressReporter {
  report: ProgressCallback | null;
  finish(): void;
}

/** Plain lines: one at each tenth of a known total, or at 1, 2, 5, 10, 20, … items when the total is unknown. */
function lineReporter(label: string, stream: ProgressStream): ProgressReporter {
  let lastStep = -1;
  let last: [number, number | null] = [0, null];
  let printed = '';
  const line = (done: number, total: number | null) => {
    const text = total === null ? `${label}: ${done} items done` : `${label}: ${done}/${total} items (${total === 0 ? 100 : Math.floor((done * 100) / total)}%)`;
    if (text !== printed) stream.write(`${text}\n`);
    printed = text;
  };
  return {
    report(done, total) {
      last = [done, total];
      const step = total === null ? Math.floor(Math.log10(done) * 3) : total === 0 ? 10 : Math.floor((done * 10) / total);
      if (step > lastStep) {
        lastStep = step;
        line(done, total);
      }
    },
    finish() {
      line(last[0], last[1]);
    },
  };
}

function barReporter(label: string, stream: ProgressStream, knownTotal: number | null): ProgressReporter {
  const { SingleBar, Presets } = barLibrary();
  const bar = new SingleBar(
    {
      stream,
      format: knownTotal === null ? `${label} {value} items | {duration_formatted}` : `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(knownTotal ?? 0, 0);
  let stopped = false;
  return {
    report(done) {
      if (!stopped) bar.update(done);
    },
    finish() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * Combines `progress: true` and a custom `onProgress` into one callback for
 * the map machinery. Call finish() when the call settles, however it ends.
 */
export function progressReporter(
  label: string,
  show: boolean,
  onProgress: ProgressCallback | null,
  total: number | null,
  stream: ProgressStream = process.stderr,
): ProgressReporter {
  if (!show) return { report: onProgress, finish() {} };
  const display = stream.isTTY ? barReporter(label, stream, total) : lineReporter(label, stream);
  return {
    report(done, knownTotal) {
      display.report!(done, knownTotal);
      onProgress?.(done, knownTotal);
    },
    finish: () => display.finish(),
  };
}
