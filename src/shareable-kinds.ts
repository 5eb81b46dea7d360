/**
 * Every kind of library object that can travel to another process, and the
 * class (or function) that revives it there. The one registration module:
 * index.ts imports it, and so do the child's entries (child/child-main.ts,
 * child/zygote-main.ts), so a child can decode its arguments without loading
 * the whole public API. No library module imports it, so it sits above them
 * all (managers and pool included) without making a cycle.
 */
import { registerShareable } from './transfer/shareable.ts';
import { Lock, RLock } from './sync/lock.ts';
import { Semaphore, BoundedSemaphore } from './sync/semaphore.ts';
import { Event } from './sync/event.ts';
import { Condition } from './sync/condition.ts';
import { Barrier } from './sync/barrier.ts';
import { SharedMemory } from './shared/shared-memory.ts';
import { ShareableList } from './shared/shareable-list.ts';
import { RawValue, Value } from './shared/shared-value.ts';
import { RawArray, SharedArray } from './shared/shared-array.ts';
import { Connection } from './channels/connection.ts';
import { Queue } from './channels/queue.ts';
import { JoinableQueue } from './channels/joinable-queue.ts';
import { SimpleQueue } from './channels/simple-queue.ts';
import { reviveProxy } from './managers/proxy.ts';
// Registers the Pool proxy class, so that a Pool proxy revived in a child sends its tasks by reference.
import './managers/pool-proxy.ts';
import { PROXY_KIND } from './managers/protocol.ts';
import { reviveSharedArgument, SHARED_ARGUMENT_KIND } from './pool/shared-arguments.ts';

registerShareable('multiproc.Lock', Lock);
registerShareable('multiproc.RLock', RLock);
registerShareable('multiproc.Semaphore', Semaphore);
registerShareable('multiproc.BoundedSemaphore', BoundedSemaphore);
registerShareable('multiproc.Event', Event);
registerShareable('multiproc.Condition', Condition);
registerShareable('multiproc.Barrier', Barrier);
registerShareable('multiproc.RawValue', RawValue);
registerShareable('multiproc.Value', Value);
registerShareable('multiproc.RawArray', RawArray);
registerShareable('multiproc.SharedArray', SharedArray);
registerShareable('multiproc.Connection', Connection);
// Attaching to an existing segment is these classes' public meaning (as in Python).
registerShareable('multiproc.SharedMemory', SharedMemory);
registerShareable('multiproc.ShareableList', ShareableList);
registerShareable('multiproc.Queue', Queue);
registerShareable('multiproc.JoinableQueue', JoinableQueue);
registerShareable('multiproc.SimpleQueue', SimpleQueue);
// A manager's proxy: a handle on an object that lives in the manager's process.
registerShareable(PROXY_KIND, reviveProxy);
// A large pool argument copied once into shared memory (pool/shared-arguments.ts).
registerShareable(SHARED_ARGUMENT_KIND, reviveSharedArgument);
