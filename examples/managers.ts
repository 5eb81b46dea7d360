// Managers, as in Python: a dict of results and a shared list filled by
// worker processes, a Namespace of settings, a list stored inside the dict,
// and a remote manager that another process reaches over TCP with an authkey.
import { BaseManager, Manager, Process, isMainModule, type Proxy } from 'multiproc';

// Run in each worker: read the settings, record a result, log to the list.
export async function work(id: number, settings: any, results: any, log: any): Promise<void> {
  const power = (await settings.get('power')) as number;
  await results.set(`worker ${id}`, id ** power);
  await log.push(`worker ${id} done`);
}

// A remote manager serves one shared counter to whoever knows the key
// (Python's `register('get_tally', callable=lambda: tally)`).
export class Tally {
  private count = 0;
  add(n: number): number {
    return (this.count += n);
  }
}
const tally = new Tally();
export function getTally(): Tally {
  return tally;
}
export class TallyManager extends BaseManager {}
TallyManager.register('getTally', getTally);

export async function remoteClient(address: { host: string; port: number }, authkey: Uint8Array): Promise<void> {
  const manager = new TallyManager({ address, authkey });
  await manager.connect();
  const shared = await manager.create<Proxy<Tally>>('getTally');
  await shared.add(40);
}

if (isMainModule(import.meta)) {
  await using manager = await Manager();
  const settings = await manager.Namespace({ power: 2 });
  const results = await manager.dict<string, number>();
  const log = await manager.list<string>();
  const workers = [1, 2, 3].map((id) => new Process({ target: work, args: [id, settings, results, log] }));
  for (const worker of workers) worker.start();
  for (const worker of workers) await worker.join();
  console.log('results:', Object.fromEntries((await results.entries()).sort()));
  console.log('log entries:', await log.length());

  await results.set('nested' as never, (await manager.list(['a list inside a dict'])) as never);
  const nested = (await results.get('nested')) as unknown as Proxy<{ toArray(): string[] }>;
  console.log('nested:', await nested.toArray());

  const authkey = Buffer.from('example secret');
  await using server = new TallyManager({ address: { host: '127.0.0.1', port: 0 }, authkey });
  await server.start();
  const shared = await server.create<Proxy<Tally>>('getTally');
  await shared.add(2);
  const client = new Process({ target: remoteClient, args: [server.address as { host: string; port: number }, authkey] });
  client.start();
  await client.join();
  console.log('remote tally:', await shared.add(0));
}
