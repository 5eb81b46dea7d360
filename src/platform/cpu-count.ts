/** How many CPUs this process may use, as Python's os.process_cpu_count(). */
import { availableParallelism, cpus } from 'node:os';

/** Number of CPUs the process may use. */
export function cpuCount(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}
