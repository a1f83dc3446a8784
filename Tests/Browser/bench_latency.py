#!/usr/bin/env python3
"""Benchmark: how long a step event takes from the engine's event bus to the page's DOM (the fiber
grid's cell updated), with 0 and with 200 other subscribers on the status socket. Prints the median
and p99; asserts nothing (shared machines are noisy).

    swift build && python3 Tests/Browser/bench_latency.py [--units 4] [--subscribers 0,200]

The page stamps each step with Date.now() when its cell is written and subtracts the time the
engine published the event (same machine, same clock)."""

import argparse
import json
import os
import socket
import statistics
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ferrule_web as fw  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


class Subscribers:
    """`n` status-socket clients subscribed to every event, each read by its own thread (as fast as it can)."""

    def __init__(self, path, n):
        self.socks = []
        self.stop = threading.Event()
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(json.dumps({"v": 1, "id": i, "type": "subscribe"}).encode() + b"\n")
            self.socks.append(s)
            threading.Thread(target=self.drain, args=(s,), daemon=True).start()

    def drain(self, s):
        try:
            while not self.stop.is_set() and s.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        self.stop.set()
        for s in self.socks:
            s.close()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run(daemon, api, units, others):
    subs = Subscribers(os.path.join(daemon.dir, "s.sock"), others)
    d = fw.browser()
    try:
        fw.sign_in(d, daemon.url, "op1", "1111")
        fw.signed_in(d)
        fw.wait(d, lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live")
        d.execute_script("F.latencies = []")
        for i in range(units):
            api.ok("/api/test", {"serial": "BENCH-%d-%d" % (others, i), "partNumber": "FT-MTP12-SMAPC-B-LL", "fixture": 1})
            api.wait_idle(1)
        fw.wait(d, lambda d: d.execute_script("return F.latencies.length") >= units * 24)
        return d.execute_script("return F.latencies")
    finally:
        d.quit()
        subs.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=4)
    ap.add_argument("--subscribers", default="0,200")
    args = ap.parse_args()
    daemon = fw.Daemon(switch_ms=2, read_ms=2)
    try:
        fw.take_references(daemon.url)
        api = fw.API(daemon.url)
        api.sign_in("op1", "1111")
        print("step event -> page DOM, %d units x 24 steps (12 fibers, 2 wavelengths) per row" % args.units)
        print("%-22s %8s %8s %8s %6s" % ("other subscribers", "median", "p99", "max", "n"))
        for n in [int(x) for x in args.subscribers.split(",")]:
            ms = run(daemon, api, args.units, n)
            print("%-22d %6.1f ms %6.1f ms %6.1f ms %6d" % (n, statistics.median(ms), percentile(ms, 99), max(ms), len(ms)))
    finally:
        daemon.close()


if __name__ == "__main__":
    main()
