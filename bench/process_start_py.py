"""Python's anchor for bench/process-start.ts: start+join of a no-op process per start method.
Prints one JSON object: {method: milliseconds per start+join}."""
import json
import multiprocessing as mp
import sys
import time


def noop():
    pass


def measure(method, rounds):
    ctx = mp.get_context(method)
    for _ in range(2):  # warm-up: the forkserver itself starts on first use
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    start = time.perf_counter()
    for _ in range(rounds):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
    return (time.perf_counter() - start) * 1000 / rounds


if __name__ == '__main__':
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    # As bench/process-start.ts: more rounds for the forkserver, whose figure is a few ms.
    forkserver_rounds = int(sys.argv[2]) if len(sys.argv) > 2 else rounds
    print(json.dumps({'fork': measure('fork', rounds), 'spawn': measure('spawn', rounds),
                      'forkserver': measure('forkserver', forkserver_rounds)}))
