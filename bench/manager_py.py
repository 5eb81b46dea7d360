"""Python's manager dict get/set, measured as bench/manager.ts measures ours; prints JSON.
local: a child process doing get/set on a Manager().dict(); remote: a client
process connected over loopback TCP to a BaseManager serving a dict.
Each figure is the best of REPEATS runs, each after WARM untimed rounds, as
bench/manager.ts does (Python has no JIT to warm, so they change little)."""
import json
import multiprocessing as mp
from multiprocessing.managers import BaseManager, DictProxy
import time

OPS = 20_000
WARM = 2_000
REPEATS = 3


def hammer(d, out):
    d['k'] = 0
    for _ in range(WARM // 2):
        d['k'] = d['k'] + 1
    start = time.perf_counter()
    for i in range(OPS // 2):
        d['k'] = i
        d['k']
    out.put(OPS / (time.perf_counter() - start))


def local_rate():
    with mp.Manager() as m:
        d = m.dict()
        out = mp.Queue()
        p = mp.Process(target=hammer, args=(d, out))
        p.start()
        rate = out.get()
        p.join()
        return rate


shared = {}


def get_dict():
    return shared


class RemoteManager(BaseManager):
    pass


RemoteManager.register('get_dict', callable=get_dict, proxytype=DictProxy)


def remote_client(address, out):
    m = RemoteManager(address=address, authkey=b'bench')
    m.connect()
    hammer(m.get_dict(), out)


def remote_rate():
    server = RemoteManager(address=('127.0.0.1', 0), authkey=b'bench')
    server.start()
    out = mp.Queue()
    p = mp.Process(target=remote_client, args=(server.address, out))
    p.start()
    rate = out.get()
    p.join()
    server.shutdown()
    return rate


if __name__ == '__main__':
    mp.set_start_method('fork')
    print(json.dumps({
        'local': max(local_rate() for _ in range(REPEATS)),
        'remote': max(remote_rate() for _ in range(REPEATS)),
    }))
