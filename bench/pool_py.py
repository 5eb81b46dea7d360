"""Python's anchor for bench/pool.ts: Pool(2).map over 100k tiny tasks,
with the default chunksize and with chunksize 1. Prints JSON: tasks/s."""
import json
import multiprocessing as mp
import sys
import time


def tiny(x):
    return x * 2


def rate(pool, n, chunksize):
    start = time.perf_counter()
    pool.map(tiny, range(n), chunksize=chunksize)
    return n / (time.perf_counter() - start)


if __name__ == '__main__':
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with mp.Pool(2) as pool:
        pool.map(tiny, range(1000))  # warm-up: workers started and importing done
        # the same protocol as bench/pool.ts: 3 warm-up runs, then the median of 11
        default = sorted([rate(pool, n, None) for _ in range(14)][3:])[5]
        single = sorted([rate(pool, n, 1) for _ in range(14)][3:])[5]
    print(json.dumps({'default': default, 'chunksize1': single}))
