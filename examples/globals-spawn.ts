// The seed's spawn example, ported line by line: a spawned child does not
// inherit the global the parent set under its entry-point guard.
import { Process, setStartMethod, isMainModule } from 'multiproc';

declare global {
  // eslint-disable-next-line no-var
  var data: string;
}

// function to be executed in a new process
function task(): void {
  // report global state
  console.log(`child process: ${data}`);
  // change global state
  globalThis.data = 'hello hello!';
  // report global state
  console.log(`child process: ${data}`);
}

// protect entry point
if (isMainModule(import.meta)) {
  // set the start method to spawn
  setStartMethod('spawn');
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
