/**
 * Guarantees that no shared-memory segment outlives the program that created
 * it, even if the program is SIGKILLed or a child crashes.
 *
 * The first process of a program that creates a segment starts a tiny `sh`
 * tracker whose stdin is a pipe. Only that process holds the pipe's write end
 * (a raw CLOEXEC descriptor, so children do not inherit it and it keeps no
 * event loop alive). When the process ends, however it ends, the kernel
 * closes the descriptor, the tracker reads EOF and unlinks every registered
 * name. Registration is a marker file in the tracker's directory, whose path
 * our own children get through an environment variable, so segments created
 * by children are unlinked with the program too. Markers are written BEFORE
 * the segment is created, so no kill can fall between creation and
 * registration.
 *
 * Only multiproc's own launchers pass the variable (trackerEnvironment()), and
 * a child takes it out of process.env at load: another program this one runs
 * with child_process is a program of its own, whose segments must go when it
 * ends, not when this one does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnWithStdinPipe } from './native.ts';

/** Environment variable naming the tracker directory of the running program. */
export const TRACKER_ENV = 'MULTIPROC_RESOURCE_TRACKER';

// Reads until EOF (builtin `read`, no extra process), then unlinks every
// registered segment. It ignores terminal signals so a Ctrl-C that kills the
// program cannot also skip the cleanup; it runs in its own session anyway.
const TRACKER_SCRIPT = `
trap '' INT HUP
while IFS= read -r _line; do :; done
for f in "$1"/*; do
  [ -f "$f" ] || continue
  name=$(cat "$f")
  rm -f "/dev/shm/\${name#/}" "/dev/shm/\${name#/}".*
done
rm -rf "$1"
`;

// On globalThis, so that two copies of the library in one process (src/ and
// dist/, say) share one tracker.
const DIRECTORY = Symbol.for('multiproc.resourceTrackerDirectory');
const holder = globalThis as { [DIRECTORY]?: string };
// Never closed: its closing at process death is the tracker's signal.
let writeEnd: number | undefined;

adoptInheritedTracker();

/**
 * A child of ours (started with MULTIPROC_PARENT_PID naming its parent, which
 * the child bootstrap checks too) joins its program's tracker; anything else
 * that merely inherited the variable ignores it.
 */
function adoptInheritedTracker(): void {
  const inherited = process.env[TRACKER_ENV];
  if (inherited === undefined) return;
  delete process.env[TRACKER_ENV];
  const fromOurParent = process.env.MULTIPROC_PARENT_PID === String(process.ppid);
  if (fromOurParent && holder[DIRECTORY] === undefined && existsSync(inherited)) holder[DIRECTORY] = inherited;
}

/**
 * Returns the tracker directory of this program, starting the tracker if
 * this process is the first to need one (it is cheap once started). Children
 * get it through trackerEnvironment().
 */
export function ensureResourceTracker(): string {
  const known = holder[DIRECTORY];
  if (known !== undefined) return known;
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-tracker-'));
  // stderr is inherited on purpose: whoever reads this program's stderr sees
  // it close only once the tracker has finished cleaning up. Started natively
  // (posix_spawn): Node's child_process would first copy every page table of
  // this process, which is most of a cold Pool's first shared-memory block.
  try {
    writeEnd = spawnWithStdinPipe('/bin/sh', ['/bin/sh', '-c', TRACKER_SCRIPT, 'multiproc-resource-tracker', dir]).writeFd;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start the shared-memory resource tracker (/bin/sh): ${String(error)}`);
  }
  holder[DIRECTORY] = dir;
  return dir;
}

/** The environment entries that make a child we launch join this program's tracker. */
export function trackerEnvironment(): Record<string, string> {
  return { [TRACKER_ENV]: ensureResourceTracker() };
}

function markerPath(name: string): string {
  return join(ensureResourceTracker(), createHash('sha1').update(name).digest('hex'));
}

/**
 * Registers a segment name to be unlinked when the program ends, together
 * with its companions named `<name>.<suffix>` (a ring's side segments). Returns
 * false if it was already registered (then the earlier registrant owns it).
 */
export function registerSegment(name: string): boolean {
  try {
    writeFileSync(markerPath(name), name, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Forgets a segment name, after it was unlinked explicitly. */
export function unregisterSegment(name: string): void {
  rmSync(markerPath(name), { force: true });
}
