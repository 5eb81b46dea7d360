"""Python's anchor for bench/pool.ts: Pool(2).map over 100k tiny tasks,
with the default chunksize and with chunksize 1 (tasks/s); and 100 MB of
bytes passed to 1,000 tasks, as a numpy-free program would (ms). Prints JSON."""
import json
import multiprocessing as mp
import sys
import time


def tiny(x):
    return x * 2


def sum_part(data, part):
    size = len(data) // 1000
    return sum(data[part * size:(part + 1) * size:4096])


def large_bytes_ms(pool):
    data = bytes(100_000_000)
    start = time.perf_counter()
    pool.starmap(sum_part, [(data, part) for part in range(1000)])
    return (time.perf_counter() - start) * 1000


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
        large = large_bytes_ms(pool)
    print(json.dumps({'default': default, 'chunksize1': single, 'largeBytesMs': large}))
