"""The Python peer of W1, W5 and W6, written as the subprocess documentation
recommends ("The recommended approach to invoking subprocesses is to use the
run() function"):

  W1  subprocess.run(["/bin/true"], check=True), N times
  W5  subprocess.run(["/bin/sh", "-c", "sleep 30 & sleep 30"],
                     capture_output=True, timeout=1)
  W6  subprocess.run(["/bin/sh", "-c", 'trap "" TERM; sleep 30'], timeout=0.5)

run() kills the direct child with SIGKILL when the timeout expires and then
waits for it and for its output; there is no SIGTERM-then-grace option.

Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (this process, every
thread) or "W5|W6 <seconds> s".
Usage: python3 workloads.py W1 [N] | W5 | W6
"""
import subprocess
import sys
import time


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "W1":
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
        cpu0 = time.process_time()
        t0 = time.monotonic()
        for _ in range(n):
            subprocess.run(["/bin/true"], check=True)
        s = time.monotonic() - t0
        cpu_us = (time.process_time() - cpu0) * 1e6 / n
        print(f"W1 {n / s:.1f} spawns/s, {cpu_us:.1f} us CPU per spawn")
    elif what == "W5":
        t0 = time.monotonic()
        note = "returned without a timeout"
        try:
            subprocess.run(["/bin/sh", "-c", "sleep 30 & sleep 30"], capture_output=True, timeout=1)
        except subprocess.TimeoutExpired as e:
            note = f"TimeoutExpired after {e.timeout} s"
        print(f"W5 {time.monotonic() - t0:.3f} s")
        print(f"note: {note}")
    elif what == "W6":
        t0 = time.monotonic()
        try:
            subprocess.run(["/bin/sh", "-c", 'trap "" TERM; sleep 30'], timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        print(f"W6 {time.monotonic() - t0:.3f} s")
        print("note: no grace: run(timeout=) sends SIGKILL at once")
    else:
        print("usage: workloads.py W1 [N] | W5 | W6", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
