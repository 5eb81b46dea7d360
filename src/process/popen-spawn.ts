/** spawn: the child is a fresh Node process that imports the target's module anew and inherits no globals. */
import type { StartMethod } from './popen.ts';
import { osProcessVehicle } from './vehicle-os-process.ts';

export const spawnStartMethod: StartMethod = {
  name: 'spawn',
  launch(request) {
    return osProcessVehicle.launch(request.payload(), { preload: [], spares: 1 });
  },
};
