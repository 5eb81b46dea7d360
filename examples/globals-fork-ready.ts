// The seed's fork example with a module-level `let`, no globalThis: run it
// fork-ready, `npx multiproc examples/globals-fork-ready.ts`, and start()
// really forks the program, so the child sees the variable as it was at
// start() and its change does not come back. (Run with plain tsx, fork is
// emulated and the child sees the module's initial value instead.)
import { Process, setStartMethod, isMainModule } from 'multiproc';

// global state
let data = 'initial';

// function to be executed in a new process
function task(): void {
  // report global state
  console.log(`child process before: ${data}`);
  // change global state
  data = 'hello hello!';
  // report global state
  console.log(`child process after: ${data}`);
}

// protect entry point
if (isMainModule(import.meta)) {
  // set the start method to fork
  setStartMethod('fork');
  // define global state
  data = 'Hello there';
  // report global state
  console.log(`main process: ${data}`);
  // start a child process
  const process = new Process({ target: task });
  process.start();
  // wait for the child to terminate
  await process.join();
  // report global state
  console.log(`main process: ${data}`);
}
