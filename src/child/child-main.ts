/**
 * The OS-process vehicle, child side: the script a child Node process runs.
 * It ties the child's life to its parent, registers the shareable kinds (so
 * its arguments can be revived) and loads any forkserver preload modules,
 * then waits on fd 3 for its launch payload and hands it, with the control
 * channel it came on, to runChild.
 */
import { Socket } from 'node:net';
import { ControlChannel } from '../channels/control-channel.ts';
import { runChild } from './child-bootstrap.ts';
import { warmUpInspector } from '../transfer/inspector-session.ts';
import { preloadModule } from '../transfer/function-resolver.ts';
import type { LaunchPayload } from '../process/launch-payload.ts';
import { setParentDeathSignal } from '../platform/native.ts';
import { setProcessOrigin } from '../process/fork-support.ts';
import '../shareable-kinds.ts';

setProcessOrigin('booted');

const SIGKILL = 9;
const expectedParent = Number(process.env.MULTIPROC_PARENT_PID);
// The kernel kills us if the parent dies, even while we are busy in synchronous code.
setParentDeathSignal(SIGKILL);
if (process.ppid !== expectedParent) process.exit(1);

const channel = new ControlChannel(new Socket({ fd: 3, readable: true, writable: true }));
// Without a parent there is nobody to report to; a spare must not linger either.
channel.onClose(() => process.exit(1));

// Warm-up, not registration: a target's module almost always imports the
// library's public entry, which is then loaded already when work arrives.
await import(new URL(`../index${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href);
for (const specifier of JSON.parse(process.env.MULTIPROC_PRELOAD ?? '[]') as string[]) {
  await preloadModule(specifier);
}
// Finding the target needs the inspector; connecting it now saves the time later.
warmUpInspector();
// Tells the parent this child is booted (see ControlChannel's greeting).
channel.send('ready');
delete process.env.MULTIPROC_PARENT_PID;
delete process.env.MULTIPROC_PRELOAD;

const payload = (await channel.next()) as LaunchPayload;
channel.unref();
await runChild(payload, () => channel);
