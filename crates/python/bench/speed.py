"""Calling overhead of gumbel_gadgets.couple at K = 10 and batch throughput (docs/python.md, "Speed").

    python crates/python/bench/speed.py [path/to/gumbel-gadgets]

Prints microseconds per single-pair call, pairs per second for one [N, K] batch call, and (with the CLI
binary) milliseconds per `gumbel-gadgets couple` process.
"""

import json
import subprocess
import sys
import time

import numpy as np

import gumbel_gadgets as gg


def best_of(repeats, run):
    return min(run() for _ in range(repeats))


def main():
    rng = np.random.default_rng(0)
    k, n = 10, 10_000
    ps = rng.dirichlet(np.ones(k), size=n)
    qs = rng.dirichlet(np.ones(k), size=n)
    h = np.arange(k, dtype=float)

    def singles():
        start = time.perf_counter()
        for i in range(2000):
            gg.couple(ps[i], qs[i], reward=h)
        return (time.perf_counter() - start) / 2000

    def batch():
        start = time.perf_counter()
        gg.couple(ps, qs, reward=h)
        return time.perf_counter() - start

    single = best_of(5, singles)
    whole = best_of(5, batch)
    print(f"couple, one pair, K = {k}: {single * 1e6:.1f} us per call")
    print(f"couple, one batch of {n} pairs, K = {k}: {n / whole:,.0f} pairs/s ({whole / n * 1e6:.1f} us per pair)")
    if len(sys.argv) > 1:
        args = [sys.argv[1], "couple", "--p", json.dumps(ps[0].tolist()), "--q", json.dumps(qs[0].tolist())]

        def cli():
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            return time.perf_counter() - start

        print(f"gumbel-gadgets couple (one process per pair), K = {k}: {best_of(10, cli) * 1e3:.1f} ms per call")


if __name__ == "__main__":
    main()
