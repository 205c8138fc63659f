#!/usr/bin/env python3
"""Times ctq's reports and the same top-10 errors query with DuckDB and zcat|jq, interleaved.

Prints medians, each command's ratio to `ctq errors --top 10`, throughput in MB/s of uncompressed
JSON, and peak memory (from /usr/bin/time). Called by bench/run.sh, which builds and generates.
"""
import argparse
import glob
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def corpus_info(corpus):
    info = {}
    with open(os.path.join(corpus, "corpus.txt")) as f:
        for line in f:
            k, v = line.split()
            info[k] = v
    return info


def commands(ctq, corpus, info, peers):
    src = ["--source", corpus, "--since", "2024-08-01", "-o", "json"]
    mid_day = "2024-09-%02d" % (1 + int(info["days"]) // 2)
    cmds = [
        ("ctq errors --top 10", [ctq, "errors", "--top", "10", *src], True),
        ("ctq sts-endpoints", [ctq, "sts-endpoints", *src], True),
        ("ctq root-activity", [ctq, "root-activity", *src], True),
        ("ctq who-touched-bucket", [ctq, "who-touched-bucket", "prod-data", *src], True),
        ("ctq summary", [ctq, "summary", *src], True),
        ("ctq detect (built-in rules)", [ctq, "detect", *src], True),
        ("ctq errors --where eventSource=s3", [ctq, "errors", "--top", "10", "--where", "eventSource=s3.amazonaws.com", *src], True),
        ("ctq events --match AKIAIOSFODNN7EXAMPLE", [ctq, "events", "--match", "AKIAIOSFODNN7EXAMPLE", *src], True),
        ("ctq errors --where requestParameters.bucketName", [ctq, "errors", "--top", "10", "--where", "requestParameters.bucketName=prod-data", *src], True),
        ("ctq trace AKIAIOSFODNN7EXAMPLE", [ctq, "trace", "AKIAIOSFODNN7EXAMPLE", *src], True),
        ("ctq profile alice", [ctq, "profile", "alice", *src], True),
        ("ctq errors --verify", [ctq, "errors", "--top", "10", "--verify", *src], True),
        ("ctq verify", [ctq, "verify", *src], True),
        ("ctq errors --threads 1", [ctq, "errors", "--top", "10", "--threads", "1", *src], True),
        ("ctq errors --date (1 day)", [ctq, "errors", "--top", "10", "--source", corpus, "--date", mid_day, "-o", "json"], False),
    ]
    # SigmaHQ's CloudTrail rules (SIGMA_RULES, or ../shared/sigma-aws-cloudtrail beside the
    # repository), with the built-in rules too, as the detection target asks.
    here = os.path.dirname(os.path.abspath(__file__))
    sigma = os.environ.get("SIGMA_RULES", os.path.join(here, "..", "..", "shared", "sigma-aws-cloudtrail"))
    if os.path.isdir(sigma):
        cmds.insert(6, ("ctq detect --rules SigmaHQ", [ctq, "detect", "--rules", sigma, *src], True))
    else:
        print("note: %s is missing: ctq detect --rules SigmaHQ skipped" % sigma, file=sys.stderr)
    if peers:
        try:
            import duckdb  # noqa: F401

            query = (
                "SELECT r.eventName, r.errorCode, r.errorMessage, count(*) AS n FROM ("
                "SELECT unnest(Records) AS r FROM read_json_auto('%s/AWSLogs/*/*/CloudTrail/*/*/*/*/*.json.gz', "
                "maximum_object_size=67108864)) WHERE r.errorCode IS NOT NULL AND r.errorCode <> '' "
                "GROUP BY ALL ORDER BY n DESC LIMIT 10" % corpus
            )
            script = "import duckdb; print(duckdb.sql(%r).fetchall())" % query
            cmds.append(("duckdb read_json_auto", [sys.executable, "-c", script], True))
        except ImportError:
            print("note: DuckDB not installed (pip install duckdb): skipped", file=sys.stderr)
        if shutil.which("jq") and shutil.which("zcat"):
            pipeline = (
                "find %s/AWSLogs -path '*/CloudTrail/*' -name '*.json.gz' -print0 | xargs -0 zcat | "
                "jq -r '.Records[] | select(.errorCode != null and .errorCode != \"\") | "
                "[.eventName, .errorCode, .errorMessage] | @tsv' | sort | uniq -c | sort -rn | head -10"
            ) % corpus
            cmds.append(("zcat \\| jq \\| sort \\| uniq -c", ["bash", "-c", pipeline], True))
        else:
            print("note: jq not installed: zcat | jq skipped", file=sys.stderr)
    return cmds


def measure(argv):
    """(wall seconds, peak RSS in MB) of one run; the peak comes from /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if p.returncode not in (0, 3):
            sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(argv)[:200], p.stderr.decode()[-2000:]))
        kb = t.read().split()[-1]
        return wall, int(kb) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctq", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peers", type=int, default=1)
    a = ap.parse_args()
    info = corpus_info(a.corpus)
    json_mb = int(info["json_bytes"]) / 1e6
    cmds = commands(a.ctq, a.corpus, info, a.peers)

    # Warm the page cache: every run reads from memory, as the targets assume.
    for f in glob.glob(os.path.join(a.corpus, "AWSLogs/**/*.json.gz"), recursive=True):
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    times = {name: [] for name, _, _ in cmds}
    peaks = {name: 0.0 for name, _, _ in cmds}
    for run in range(a.runs):
        for name, argv, _ in cmds:  # interleaved: drift hits every command alike
            s, mb = measure(argv)
            times[name].append(s)
            peaks[name] = max(peaks[name], mb)
        print("run %d/%d done" % (run + 1, a.runs), file=sys.stderr)

    base = statistics.median(times[cmds[0][0]])
    print("corpus: %s files, %s events, %.0f MB of JSON (%.0f MB gzipped), %s days" % (
        info["files"], info["events"], json_mb, int(info["gzip_bytes"]) / 1e6, info["days"]))
    print("machine: %s, %d cores, %s; %d runs each, interleaved\n" % (
        platform.processor() or platform.machine(), os.cpu_count(), platform.platform(), a.runs))
    print("| command | median s | min s | × ctq errors | MB/s of JSON | peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _, whole in cmds:
        med = statistics.median(times[name])
        mbps = ("%.0f" % (json_mb / med)) if whole and med > 0 else "–"
        print("| %s | %.3f | %.3f | %.2f | %s | %.0f |" % (name, med, min(times[name]), med / base if base else 0, mbps, peaks[name]))


if __name__ == "__main__":
    main()
