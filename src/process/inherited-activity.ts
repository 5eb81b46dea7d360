/**
 * The parent's business, which a child forked from the program must not run:
 * its timers, immediates, servers, sockets, watchers and child-process
 * handles. Node can list none of these completely (process._getActiveHandles
 * leaves out timers and unref'd handles), so a fork-ready program tracks
 * them from its start with an async hook; the child stops them all before
 * its target runs. The hook costs a little on every async resource, promises
 * included, which is why only a program run fork-ready has it. It has no
 * destroy callback: with one, Node tracks every promise's destruction (a
 * weak handle each), which made every promise of the program and of its
 * children dearer; ended resources are swept once collected instead.
 */
import { createHook } from 'node:async_hooks';
import { programIsForkReady } from './fork-support.ts';

/** Async resources that are I/O handles of the parent (not stdio, which the child keeps). */
const HANDLE_TYPES = new Set([
  'TCPSERVERWRAP',
  'PIPESERVERWRAP',
  'TCPWRAP',
  'PIPEWRAP',
  'UDPWRAP',
  'FSEVENTWRAP',
  'STATWATCHER',
  'PROCESSWRAP',
  'HTTPINCOMINGMESSAGE',
]);
const STDIO_FDS = new Set([0, 1, 2]);

interface Tracked {
  type: string;
  resource: WeakRef<object>;
}

const live = new Map<number, Tracked>();
/** The map's size at which the next sweep runs: twice what the last one kept, so sweeps cost O(1) per entry. */
const FIRST_SWEEP_AT = 256;
let sweepAt = FIRST_SWEEP_AT;

function track(asyncId: number, type: string, _trigger: number, resource: object): void {
  if (type !== 'Timeout' && type !== 'Immediate' && !HANDLE_TYPES.has(type)) return;
  live.set(asyncId, { type, resource: new WeakRef(resource) });
  if (live.size >= sweepAt) sweepCollected();
}

/**
 * Drops the entries whose resource has been garbage-collected. An ended
 * timer that is still referenced stays: the child clears it, harmlessly,
 * and a refresh() could yet restart it.
 */
function sweepCollected(): void {
  for (const [asyncId, { resource }] of live) if (resource.deref() === undefined) live.delete(asyncId);
  sweepAt = Math.max(FIRST_SWEEP_AT, live.size * 2);
}

if (programIsForkReady()) {
  createHook({ init: track }).enable();
}

/** Clears every timer and immediate the parent had (again after the parent's queued callbacks have run). */
export function stopInheritedTimers(): void {
  for (const [asyncId, { type, resource }] of live) {
    const held = resource.deref();
    if (type === 'Timeout' && held) clearTimeout(held as NodeJS.Timeout);
    else if (type === 'Immediate' && held) clearImmediate(held as NodeJS.Immediate);
    else continue;
    live.delete(asyncId);
  }
}

/** Stops the parent's timers and closes its handles, in a child forked from the program. */
export function stopInheritedActivity(): void {
  stopInheritedTimers();
  // Their owners first (a Server, a Socket), so that the owners know.
  const owners = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const owner of owners) {
    // By descriptor: process.stdin and friends are lazy getters, and reading one made a stream.
    const handle = owner as { fd?: number; _handle?: { fd?: number }; destroy?(): void; close?(): void; unref?(): void };
    if (STDIO_FDS.has(handle.fd ?? handle._handle?.fd ?? -1)) continue;
    try {
      if (typeof handle.destroy === 'function') handle.destroy();
      else if (typeof handle.close === 'function') handle.close();
      else handle.unref?.();
    } catch {
      // Already closing.
    }
  }
  // Then whatever those missed (unref'd ones), at the handle level.
  for (const [asyncId, { type, resource }] of live) {
    if (!HANDLE_TYPES.has(type)) continue;
    live.delete(asyncId);
    const wrap = resource.deref() as { fd?: number; close?(): void } | undefined;
    if (!wrap || typeof wrap.close !== 'function' || STDIO_FDS.has(wrap.fd ?? -1)) continue;
    try {
      wrap.close();
    } catch {
      // Already closed by its owner above.
    }
  }
}
