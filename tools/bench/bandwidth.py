"""This machine's memory bandwidth, STREAM-style (copy kernel) in numpy.

    python tools/bench/bandwidth.py [--mib 512] [--repeats 7]

Copies a large float64 array (far bigger than any cache) into another, `--repeats` times, and
keeps the best time, as STREAM does; bandwidth counts STREAM's way: bytes read + bytes written
(2 x array size; the write-allocate read is not counted). numpy's copy runs on one thread, so the
copy is also run split over every CPU in threads (numpy releases the GIL), which is what a
decode step using every core can draw. Batch-1 decoding of an LLM reads every weight once per
token, so `bandwidth / weight bytes` bounds its tokens/s (tools/bench/generate.py prints it).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import time

import numpy as np


def _copy_time(src: np.ndarray, dst: np.ndarray, threads: int, pool) -> float:
    if threads == 1:
        t0 = time.perf_counter()
        np.copyto(dst, src)
        return time.perf_counter() - t0
    parts = np.array_split(np.arange(src.size), threads)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in parts if p.size]
    t0 = time.perf_counter()
    list(pool.map(lambda b: np.copyto(dst[b[0]:b[1]], src[b[0]:b[1]]), bounds))
    return time.perf_counter() - t0


def _read_time(src: np.ndarray, threads: int, pool) -> float:
    parts = [(int(p[0]), int(p[-1]) + 1) for p in np.array_split(np.arange(src.size), threads) if p.size]
    t0 = time.perf_counter()
    list(pool.map(lambda b: np.add.reduce(src[b[0]:b[1]]), parts))
    return time.perf_counter() - t0


def measure(mib: int = 512, repeats: int = 7, threads: int | None = None) -> dict:
    """{'copy_gbs_1_thread', 'copy_gbs', 'read_gbs', 'threads', 'array_mib', 'repeats'}; GB = 1e9
    bytes. read_gbs: a sum over the array on every thread (bytes read only), closer to what a
    decode step does with its weights than copy, and usually higher."""
    threads = threads or os.cpu_count() or 1
    n = mib * 2**20 // 8
    src = np.random.default_rng(0).random(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch every page before timing
    out = {"array_mib": mib, "repeats": repeats, "threads": threads}
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        for key, t in (("copy_gbs_1_thread", 1), ("copy_gbs", threads)):
            best = min(_copy_time(src, dst, t, pool) for _ in range(repeats))
            out[key] = 2 * src.nbytes / best / 1e9
        out["read_gbs"] = src.nbytes / min(_read_time(src, threads, pool) for _ in range(repeats)) / 1e9
    out["copy_gbs"] = max(out["copy_gbs"], out["copy_gbs_1_thread"])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=512, help="size of each array")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from trainer.util import hardware

    r = measure(args.mib, args.repeats)
    print(f"{hardware.describe()}, {os.cpu_count()} CPUs")
    print(f"STREAM copy, 2 x {r['array_mib']} MiB float64, best of {r['repeats']}: "
          f"{r['copy_gbs_1_thread']:.1f} GB/s on 1 thread, {r['copy_gbs']:.1f} GB/s on {r['threads']} threads; "
          f"read (sum): {r['read_gbs']:.1f} GB/s")


if __name__ == "__main__":
    main()
