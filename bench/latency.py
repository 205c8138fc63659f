#!/usr/bin/env python3
"""S3 at real latency: one day of a synthetic organization trail served by bench/s3_server.rs with
a delay before every answer, read by ctq (adaptive concurrency), ctq --concurrency 32, and DuckDB's
httpfs, interleaved. Called by bench/run.sh (`bench/run.sh latency`).

Prints medians, peak memory, the requests the server counted, and the bound the latency and the
bytes allow at the concurrency ctq reached:

    bound = WALK_LEVELS x L_max  +  max(GETs x L / C,  T_disk)

L is the mean wait of one answer and L_max the longest (L x 1.5 with the server's ±50% jitter).
Before the first GET, WALK_LEVELS answers come one after another (HeadBucket for the bucket's
region, then the listings of AWSLogs/, o-…/, the accounts, the event folders and the first day
prefixes), each level as slow as its slowest answer; then the GETs take at least GETs x L / C with
C of them in flight (the most ctq had at once, from --stats); and the parse of the same bytes
cannot be faster than ctq reading the same files from disk (T_disk, measured in the same run).
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WALK_LEVELS = 6
JITTER = 0.5
ACCESS_KEY = "AKIACTQBENCH0000001"
SECRET_KEY = "ctq-bench-secret-key"
BUCKET = "trail"
DAY = "2024-09-05"


def measure(argv, env=None):
    """(wall seconds, peak RSS in MB, stderr) of one run; the peak comes from /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name, *argv],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(argv)[:300], p.stderr.decode()[-3000:]))
        kb = t.read().split()[-1]
        return wall, int(kb) / 1024, p.stderr.decode()


class Server:
    """bench/s3_server.rs over ROOT with latency; counts are read when it stops."""

    def __init__(self, program, root, latency_ms, extra=()):
        self.p = subprocess.Popen([program, root, "--latency-ms", str(latency_ms), *map(str, extra)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.endpoint = self.p.stdout.readline().split()[1]
        self.p.stdout.readline()  # the credentials line

    def stop(self):
        self.p.stdin.close()
        out = self.p.stdout.read()
        self.p.wait()
        m = re.search(r"requests (.*)", out)
        return dict(kv.split("=") for kv in m.group(1).split()) if m else {}


def stat(stderr, key):
    for line in stderr.splitlines():
        if line.startswith("ctq: stats: " + key):
            return line[len("ctq: stats: " + key):]
    sys.exit("no %r in --stats:\n%s" % (key, stderr[-2000:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctq", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--root", required=True, help="a folder holding the bucket folder 'trail'")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=30)
    ap.add_argument("--duckdb-python", default="", help="a python with duckdb and its httpfs extension")
    a = ap.parse_args()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    info = dict(l.split() for l in open(os.path.join(a.root, BUCKET, "corpus.txt")))
    server = Server(a.server, a.root, a.latency_ms, ["--jitter", str(JITTER)])
    ep = server.endpoint
    s3 = ["errors", "--top", "10", "-s", "s3://" + BUCKET, "--date", DAY, "-o", "json", "--endpoint-url", ep]
    cmds = [
        ("ctq errors (adaptive)", [a.ctq, *s3]),
        ("ctq errors --concurrency 32", [a.ctq, *s3, "--concurrency", "32"]),
    ]
    if a.duckdb_python:
        ext = subprocess.run([a.duckdb_python, "-c",
                              "import duckdb_extension_httpfs, glob, os; print(glob.glob(os.path.join("
                              "os.path.dirname(duckdb_extension_httpfs.__file__), 'extensions/*/httpfs.duckdb_extension'))[0])"],
                             capture_output=True, text=True).stdout.strip()
        host = ep.split("//", 1)[1]
        # The records as JSON, each field read by name: DuckDB's inferred schema, from a sample
        # of the first files, fails on the keys it has not seen (userIdentity.invokedBy).
        query = (
            "SELECT r->>'eventName' AS eventName, r->>'errorCode' AS errorCode, r->>'errorMessage' AS errorMessage, "
            "count(*) AS n FROM (SELECT unnest(Records) AS r FROM read_json('s3://%s/AWSLogs/*/*/*/*/2024/09/05/*.json.gz', "
            "columns={'Records': 'JSON[]'}, maximum_object_size=67108864)) "
            "WHERE coalesce(r->>'errorCode', '') <> '' GROUP BY ALL ORDER BY n DESC LIMIT 10" % BUCKET
        )
        script = (
            "import duckdb; c = duckdb.connect(config={'allow_unsigned_extensions': 'true'}); c.sql(%r); "
            "c.sql(\"CREATE SECRET (TYPE s3, KEY_ID '%s', SECRET '%s', ENDPOINT '%s', URL_STYLE 'path', "
            "USE_SSL false, REGION 'us-east-1')\"); print(c.sql(%r).fetchall())"
        ) % ("LOAD '%s'" % ext, ACCESS_KEY, SECRET_KEY, host, query)
        cmds.append(("duckdb httpfs read_json", [a.duckdb_python, "-c", script]))
    disk = ("ctq errors, same files on disk", [a.ctq, "errors", "--top", "10", "-s", os.path.join(a.root, BUCKET),
                                              "--date", DAY, "-o", "json"])
    cmds.append(disk)

    # One run with --stats, untimed: how many GETs and how many in flight.
    _, _, err = measure([a.ctq, *s3, "--stats"], env)
    reads = int(stat(err, "read: "))
    flight = stat(err, "downloads in flight: ")
    c = int(re.search(r"at most (\d+) at once", flight).group(1))

    times = {n: [] for n, _ in cmds}
    peaks = {n: 0.0 for n, _ in cmds}
    for run in range(a.runs):
        for name, argv in cmds:
            # DuckDB reads about 11 objects a second at this latency: once is enough.
            if name.startswith("duckdb") and run > 0:
                continue
            s, mb, _ = measure(argv, env)
            times[name].append(s)
            peaks[name] = max(peaks[name], mb)
        print("run %d/%d done" % (run + 1, a.runs), file=sys.stderr)
    counts = server.stop()

    med = {n: statistics.median(t) for n, t in times.items()}
    L = a.latency_ms / 1000
    t_disk = med[disk[0]]
    l_max = L * (1 + JITTER)
    bound = WALK_LEVELS * l_max + max(reads * L / c, t_disk)
    base = med[cmds[0][0]]
    print("latency: %s files (%s events, %.0f MB of JSON, %.0f MB gzipped) of one day, %.0f ms to the first byte "
          "±50%%; %d runs each, interleaved" % (info["files"], info["events"], int(info["json_bytes"]) / 1e6,
                                               int(info["gzip_bytes"]) / 1e6, a.latency_ms, a.runs))
    print("ctq --stats: %d objects read; downloads in flight: %s" % (reads, flight))
    print("server: %s\n" % " ".join("%s=%s" % kv for kv in counts.items()))
    print("| command | median s | min s | × ctq (adaptive) | peak MB |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in cmds:
        print("| %s | %.2f | %.2f | %.2f | %.0f |" % (name, med[name], min(times[name]), med[name] / base, peaks[name]))
    # The cache: a cold run into an empty cache, then the same question again, each on a server of
    # its own so that its requests are counted alone.
    # Both servers listen on the same port: cache entries are kept per endpoint.
    cold, warm, warm_counts, cold_counts = [], [], [], []
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    for run in range(a.runs):
        with tempfile.TemporaryDirectory() as cache:
            for times_, counts_ in ((cold, cold_counts), (warm, warm_counts)):
                srv = Server(a.server, a.root, a.latency_ms, ["--jitter", JITTER, "--port", port])
                argv = [a.ctq, *s3[:-1], srv.endpoint, "--cache=" + cache]
                s, _, _ = measure(argv, env)
                times_.append(s)
                counts_.append(srv.stop())
        print("cache run %d/%d done" % (run + 1, a.runs), file=sys.stderr)

    print("\n| --cache | median s | min s | listings | GETs |")
    print("|---|---:|---:|---:|---:|")
    for name, t, cs in (("first run (empty cache)", cold, cold_counts), ("second run, same question", warm, warm_counts)):
        print("| %s | %.2f | %.2f | %s | %s |" % (name, statistics.median(t), min(t),
                                               "/".join(c.get("listings", "?") for c in cs),
                                               "/".join(c.get("gets", "?") for c in cs)))
    print("\nthe second run takes 1/%.1f of the first" % (statistics.median(cold) / statistics.median(warm)))

    print("\nbound at C = %d in flight: %d x %.3f s + max(%d x %.3f s / %d, %.2f s on disk) = %.2f s; "
          "ctq (adaptive) takes %.2f x the bound" % (c, WALK_LEVELS, l_max, reads, L, c, t_disk, bound, base / bound))


if __name__ == "__main__":
    main()
