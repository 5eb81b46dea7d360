/**
 * The forkserver zygote's entry (src/process/zygote.ts is the program's
 * side). It loads only what its canary needs and forks the canary
 * (zygote-canary.ts) before importing anything else, so that the canary's
 * checks run while the zygote imports the library and the program's modules
 * (zygote-main.ts).
 */
import { setParentDeathSignal } from '../platform/native.ts';
import { watchTeardownProxies } from '../platform/teardown-proxies.ts';
import { letForksCopyCodeMappings } from '../process/inherited-code-mappings.ts';
import { startCanary } from './zygote-canary.ts';
import { CHANNEL_FD, EXIT_REPORTS_FD, FD_SOCKET } from './zygote-descriptors.ts';

const SIGKILL = 9;
setParentDeathSignal(SIGKILL);
if (process.ppid !== Number(process.env.MULTIPROC_PARENT_PID)) process.exit(1);
// Children's teardown proxies, the canary's first, are the zygote's children, so the zygote reaps them.
watchTeardownProxies();
// Before the canary, so that it forks as every child will (see inherited-code-mappings.ts).
letForksCopyCodeMappings();
await startCanary([CHANNEL_FD, FD_SOCKET, EXIT_REPORTS_FD]);
await import('./zygote-main.ts');
