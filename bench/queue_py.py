"""Python's multiprocessing Queue and Pipe, measured the same way as bench/queue.ts; prints JSON.
Each figure is the best of REPEATS runs, as bench/queue.ts takes its own."""
import json
import sys
import multiprocessing as mp
import time

N_SMALL = 200_000
N_BIG = 300
ROUNDS = 20_000
REPEATS = 3


def consume(q, done, n):
    done.put('ready')
    for _ in range(n):
        q.get()
    done.put('done')


def echo(conn, rounds, as_bytes):
    conn.send('ready')
    for _ in range(rounds):
        if as_bytes:
            conn.send_bytes(conn.recv_bytes())
        else:
            conn.send(conn.recv())


def queue_rate(n, item):
    q, done = mp.Queue(), mp.Queue()
    p = mp.Process(target=consume, args=(q, done, n))
    p.start()
    done.get()
    start = time.perf_counter()
    for _ in range(n):
        q.put(item)
    done.get()
    elapsed = time.perf_counter() - start
    p.join()
    return elapsed


def round_trip(as_bytes):
    a, b = mp.Pipe()
    warm = 1000
    p = mp.Process(target=echo, args=(b, ROUNDS + warm, as_bytes))
    p.start()
    a.recv()
    payload = b'12345678'
    for i in range(ROUNDS + warm):
        if i == warm:
            start = time.perf_counter()
        if as_bytes:
            a.send_bytes(payload)
            a.recv_bytes()
        else:
            a.send(i)
            a.recv()
    elapsed = time.perf_counter() - start
    p.join()
    return elapsed / ROUNDS * 1e6


MEASURES = {
    'queueSmallPerSec': lambda: max(N_SMALL / queue_rate(N_SMALL, 12345) for _ in range(REPEATS)),
    'queue1MiBMiBPerSec': lambda: max(N_BIG / queue_rate(N_BIG, b'x' * (1 << 20)) for _ in range(REPEATS)),
    'pipeRoundTripObjectUs': lambda: min(round_trip(False) for _ in range(REPEATS)),
    'pipeRoundTripBytesUs': lambda: min(round_trip(True) for _ in range(REPEATS)),
}

if __name__ == '__main__':
    # One measure per interpreter (bench/queue.ts starts one for each): in one
    # long-lived process, Python's 1 MiB queue runs slow down by up to 2x after
    # earlier runs, which would flatter our ratio.
    names = sys.argv[1:] or list(MEASURES)
    print(json.dumps({name: MEASURES[name]() for name in names}))
