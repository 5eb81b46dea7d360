// The seed's recommended alternative to inherited globals: a shared Value,
// incremented under its lock by two processes, adds up exactly.
import { Process, Value, isMainModule } from 'multiproc';

// function to be executed in each child process
export function count(total: Value<'i'>, times: number): void {
  for (let i = 0; i < times; i++) total.getLock().runSync(() => {
    total.value += 1;
  });
}

// protect entry point
if (isMainModule(import.meta)) {
  const total = new Value('i', 0);
  const workers = [1, 2].map(() => new Process({ target: count, args: [total, 100_000] }));
  for (const worker of workers) worker.start();
  await Promise.all(workers.map((worker) => worker.join()));
  console.log(`exit codes: ${workers.map((worker) => worker.exitCode).join(', ')}`);
  console.log(`total: ${total.value}`);
}
