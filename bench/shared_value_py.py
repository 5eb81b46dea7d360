"""Python anchor for bench/shared-value.ts: the same two measurements with
multiprocessing, printed as JSON. Child start-up is excluded by a Barrier."""
import json
import multiprocessing as mp
import time

INCREMENTS = 200_000
HANDOFFS = 20_000


def increment_under_lock(value, n, start):
    start.wait()
    for _ in range(n):
        with value.get_lock():
            value.value += 1


def hand_off_child(ping, pong, n, start):
    start.wait()
    for _ in range(n):
        ping.acquire()
        pong.release()


def increments_per_second():
    value = mp.Value('i', 0)
    start = mp.Barrier(3)
    children = [mp.Process(target=increment_under_lock, args=(value, INCREMENTS, start)) for _ in range(2)]
    for child in children:
        child.start()
    start.wait()
    t0 = time.perf_counter()
    for child in children:
        child.join()
    seconds = time.perf_counter() - t0
    assert value.value == 2 * INCREMENTS, value.value
    return 2 * INCREMENTS / seconds


def hand_off_microseconds():
    ping, pong = mp.Lock(), mp.Lock()
    ping.acquire()
    pong.acquire()
    start = mp.Barrier(2)
    child = mp.Process(target=hand_off_child, args=(ping, pong, HANDOFFS, start))
    child.start()
    start.wait()
    t0 = time.perf_counter()
    for _ in range(HANDOFFS):
        ping.release()
        pong.acquire()
    us = (time.perf_counter() - t0) * 1e6 / (2 * HANDOFFS)
    child.join()
    return us


if __name__ == '__main__':
    print(json.dumps({'increments_per_s': increments_per_second(), 'handoff_us': hand_off_microseconds()}))
