/** spawn: the child is a fresh Node process that imports the target's module anew and inherits no globals. */
import type { StartMethod } from './popen.ts';
import { osProcessVehicle } from './vehicle-os-process.ts';

export const spawnStartMethod: StartMethod = {
  name: 'spawn',
  launch(request) {
    return osProcessVehicle.launch(request.payload(), { preload: [], spares: 1 });
  },
  // Each child boots; the spare that hides a boot is made after the first start, as before.
  prepare: () => Promise.resolve(),
};
