// The seed's fork example, ported line by line: a forked child sees a
// snapshot of the parent's globals, and its changes do not come back.
import { Process, setStartMethod, isMainModule } from 'multiproc';

declare global {
  // eslint-disable-next-line no-var
  var data: string;
}

// function to be executed in a new process
function task(): void {
  // report global state
  console.log(`child process before: ${data}`);
  // change global state
  globalThis.data = 'hello hello!';
  // report global state
  console.log(`child process after: ${data}`);
}

// protect entry point
if (isMainModule(import.meta)) {
  // set the start method to fork
  setStartMethod('fork');
  // define global state
  globalThis.data = 'Hello there';
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
