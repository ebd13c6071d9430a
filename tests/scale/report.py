"""The rehearsal's tables (tests/scale/rehearsal.sh), and its verdict as the exit code: 1 on any
failed request outside the failover windows, a stretch of non-2xx answers longer than
--max-non2xx-ms, any broken refresh chain, any verification failure, any replica exit code
but 0."""

import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--k6", required=True, help="k6's --summary-export")
parser.add_argument("--events", required=True, help="k6's stderr: EVENT <ms> <kind> <status>")
parser.add_argument("--verification", required=True, help="the resource server's counts")
parser.add_argument("--exit-codes", required=True, help="space-separated")
parser.add_argument("--peak-rss-kb", required=True, help="each replica's VmHWM, space-separated")
parser.add_argument(
    "--windows", nargs="*", default=[], help="per failover: what, start and end (epoch ms)"
)
parser.add_argument("--max-non2xx-ms", type=int, required=True)
parser.add_argument("--duration-ms", type=int, required=True)
parser.add_argument(
    "--stopped-at", type=int, required=True, help="epoch ms at which k6 was told to stop"
)
args = parser.parse_args()

metrics = json.load(open(args.k6))["metrics"]


def count(name):
    return int(metrics.get(name, {}).get("count", 0))


duration = metrics.get("http_req_duration{name:token}", {})
events = []
# A broken chain's time and the service's answer, for the failure's message.
broken = []
for line in open(args.events):
    parts = line.split("EVENT ", 1)
    if len(parts) == 2:
        ms, kind, status = parts[1].split()[:3]
        events.append((int(ms), kind, status.strip('"')))
        if kind == "broken_chain":
            answer = " ".join(parts[1].split(None, 3)[3:])
            broken.append((int(ms), answer.rsplit('" source=', 1)[0].replace('\\"', '"')))
# Requests k6 abandons when it is told to stop end with status 0: not the service's doing.
aborted = [ms for ms, kind, status in events if kind == "non2xx" and status == "0" and ms >= args.stopped_at]
non2xx = sorted(
    ms for ms, kind, status in events if kind == "non2xx" and not (status == "0" and ms >= args.stopped_at)
)
windows = [
    (args.windows[i], int(args.windows[i + 1]), int(args.windows[i + 2]))
    for i in range(0, len(args.windows), 3)
]
outside = [ms for ms in non2xx if not any(start <= ms <= end for _, start, end in windows)]


def longest_stretch(times):
    """The longest run of non-2xx answers, each within 1 s of the previous one."""
    longest, first, last = 0, None, None
    for ms in times:
        if last is None or ms - last > 1000:
            first = ms
        last = ms
        longest = max(longest, last - first)
    return longest


longest = longest_stretch(non2xx)
verification = json.load(open(args.verification))
codes = args.exit_codes.split()
statuses = (
    f"2xx {count('status_2xx')}, 4xx {count('status_4xx')}, 503 {count('status_503')}, "
    f"other 5xx {count('status_5xx_other')}, no answer {count('status_no_answer')}"
)
rows = [
    ("duration under load", f"{args.duration_ms / 1000:.0f} s"),
    ("token requests", f"{count('http_reqs{name:token}')}"),
    ("statuses", statuses),
    (
        "latency p50 / p99 / max",
        f"{duration.get('p(50)', 0):.1f} / {duration.get('p(99)', 0):.1f} / "
        f"{duration.get('max', 0):.0f} ms",
    ),
    ("broken refresh chains", f"{count('broken_chains')}"),
    (
        "access tokens verified / failed",
        f"{verification['verified']} / {verification['failed']} "
        f"(JWKS fetched {verification['jwks_fetches']} times)",
    ),
    ("replica exits", f"{len(codes)}, codes {' '.join(sorted(set(codes)))}"),
    ("peak RSS of a replica", f"{max(int(k) for k in args.peak_rss_kb.split()) / 1024:.1f} MiB"),
    ("failovers", f"{len(windows)}" if windows else "none"),
    ("non-2xx in / outside their windows", f"{len(non2xx) - len(outside)} / {len(outside)}"),
    ("longest non-2xx window", f"{longest} ms"),
    ("requests k6 abandoned when stopped", f"{len(aborted)}"),
]
width = max(len(k) for k, _ in rows)
print(f"| {'what':<{width}} | measured |")
print(f"|{'-' * (width + 2)}|----------|")
for k, v in rows:
    print(f"| {k:<{width}} | {v} |")
if windows:
    print()
    print("| failover | window | non-2xx in it | longest non-2xx stretch |")
    print("|---|---|---|---|")
    for what, start, end in windows:
        inside = [ms for ms in non2xx if start <= ms <= end]
        print(
            f"| {what} | {(end - start) / 1000:.1f} s | {len(inside)} | "
            f"{longest_stretch(inside)} ms |"
        )

problems = []
if outside:
    problems.append(f"{len(outside)} failed requests outside the failover windows")
if longest > args.max_non2xx_ms:
    problems.append(f"a non-2xx stretch of {longest} ms (at most {args.max_non2xx_ms})")
if count("broken_chains") or count("verification_failures") or verification["failed"]:
    problems.append("broken chains or verification failures")
for ms, answer in broken:
    where = next(
        (f"{ms - start} ms into the window of {what}" for what, start, end in windows if start <= ms <= end),
        "outside every failover window",
    )
    problems.append(f"a chain broke {where}: {answer.strip()[:300]}")
if verification["failures"]:
    problems.append(f"resource server: {verification['failures'][:5]}")
if any(c != "0" for c in codes):
    problems.append(f"replica exit codes {codes}")
if count("http_reqs{name:token}") == 0:
    problems.append("no requests")
for p in problems:
    print(f"FAILED: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
