"""Python's anchor for bench/start-burst.ts. argv: case, start method, count.
Prints one JSON number of milliseconds (per start+join for serial)."""
import json
import multiprocessing as mp
import sys
import time


def noop():
    pass


def tiny(x):
    return x * 2


def burst(ctx, count):
    first = ctx.Process(target=noop)
    first.start()
    first.join()
    begin = time.perf_counter()
    children = [ctx.Process(target=noop) for _ in range(count)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    return (time.perf_counter() - begin) * 1000


def serial(ctx, count):
    first = ctx.Process(target=noop)
    first.start()
    first.join()
    begin = time.perf_counter()
    for _ in range(count):
        child = ctx.Process(target=noop)
        child.start()
        child.join()
    return (time.perf_counter() - begin) * 1000 / count


def cold_pool(ctx):
    begin = time.perf_counter()
    with ctx.Pool(8) as pool:
        pool.map(tiny, range(100))
    return (time.perf_counter() - begin) * 1000


if __name__ == '__main__':
    kind, method = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ctx = mp.get_context(method)
    cases = {'burst': lambda: burst(ctx, count), 'serial': lambda: serial(ctx, count), 'pool': lambda: cold_pool(ctx)}
    print(json.dumps(cases[kind]()))
