#!/usr/bin/env python3
"""Run a command, or watch a process, sampling its memory every 50 ms.

    python3 bench/run_sampled.py -- COMMAND ARGS…   # run, then report
    python3 bench/run_sampled.py --pid PID --until FILE  # watch PID until FILE exists

Prints one line: wall seconds, the peak resident set (VmRSS) and the peak
anonymous resident set (RssAnon: the heap; VmRSS also counts the pages of
an SQLite file read through mmap, which are page cache, not memory the
program holds). The command's own output goes to its stdout and stderr.
With --pid, the processes PID started (a server's import workers) are
sampled too, and reported apart and with it.
"""
import os
import subprocess
import sys
import time


def sample(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    fields[key] = int(value.split()[0])
    except FileNotFoundError:
        return None
    return fields


def children(pid):
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(c) for c in listed.read().split()]
    except FileNotFoundError:
        pass
    return found


def watch(pid, done):
    """Peaks of PID, of its children at one time, and of the two together."""
    keys = ("VmRSS", "RssAnon")
    peak = {key: 0 for key in keys}
    peak_children = {key: 0 for key in keys}
    peak_together = {key: 0 for key in keys}
    first = sample(pid) or {}
    start = time.time()
    while not done():
        now = sample(pid)
        if now is None:
            break
        of_children = [c for c in map(sample, children(pid)) if c]
        for key in keys:
            theirs = sum(c.get(key, 0) for c in of_children)
            peak[key] = max(peak[key], now.get(key, 0))
            peak_children[key] = max(peak_children[key], theirs)
            peak_together[key] = max(peak_together[key], now.get(key, 0) + theirs)
        time.sleep(0.05)
    return time.time() - start, first, peak, peak_children, peak_together


def report(label, seconds, first, peak):
    print(
        f"{label}: {seconds:.1f} s; peak RSS {peak['VmRSS'] / 1024:.0f} MiB, "
        f"peak anonymous RSS {peak['RssAnon'] / 1024:.0f} MiB"
        + (f" (from {first.get('RssAnon', 0) / 1024:.0f} MiB)" if first else ""),
        flush=True,
    )


def main():
    args = sys.argv[1:]
    if args[:1] == ["--pid"]:
        pid, until = int(args[1]), args[3]
        seconds, first, peak, workers, together = watch(pid, lambda: os.path.exists(until))
        report(f"process {pid}", seconds, first, peak)
        if workers["VmRSS"]:
            report("   its workers", seconds, None, workers)
            report("   the two together", seconds, None, together)
        return 0
    command = args[args.index("--") + 1:]
    child = subprocess.Popen(command)
    seconds, _, peak, _, _ = watch(child.pid, lambda: child.poll() is not None)
    code = child.wait()
    report(" ".join(os.path.basename(c) for c in command[:2]), seconds, None, peak)
    return code


if __name__ == "__main__":
    sys.exit(main())
