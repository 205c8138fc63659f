#!/usr/bin/env python3
"""Two ctq builds side by side on one corpus: each command run by A then B, RUNS times, so drift
hits both alike. Prints medians, B/A ratios and peak RSS (from /usr/bin/time).

    bench/compare.py OLD_CTQ NEW_CTQ CORPUS [RUNS]

CORPUS is a folder made by bench/gen_corpus.rs (bench/run.sh makes one).
"""
import statistics
import subprocess
import sys
import time


def run(cmd):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{cmd}: exit {p.returncode}\n{p.stderr}")
    return elapsed, int(p.stderr.strip().splitlines()[-1]) // 1024


def main():
    a, b, corpus = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    src = ["--source", corpus, "--since", "2024-08-01", "-o", "json"]
    commands = [
        ("errors --top 10", ["errors", "--top", "10", *src]),
        ("summary", ["summary", *src]),
        ("who-touched-bucket", ["who-touched-bucket", "prod-data", *src]),
        ("errors --threads 1", ["errors", "--top", "10", "--threads", "1", *src]),
    ]
    for _, args in commands:  # warm the page cache
        run([a, *args])
    print(f"{'command':<22} {'A median s':>10} {'B median s':>10} {'B/A':>6} {'A MB':>6} {'B MB':>6}")
    for name, args in commands:
        ta, tb, ma, mb = [], [], 0, 0
        for _ in range(runs):
            t, m = run([a, *args])
            ta.append(t)
            ma = max(ma, m)
            t, m = run([b, *args])
            tb.append(t)
            mb = max(mb, m)
        ra, rb = statistics.median(ta), statistics.median(tb)
        print(f"{name:<22} {ra:>10.3f} {rb:>10.3f} {rb / ra:>6.2f} {ma:>6} {mb:>6}")


if __name__ == "__main__":
    main()
