"""Turns bench/run.sh's results (one JSON line per k6 run) into the table it prints and writes
into BENCHMARKS.md between the bench markers (the rest of the file is kept)."""

import json
import statistics
import sys
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
NAMES = {
    "token_service": "token-service (memory store, default logging)",
    "peer": "node-oidc-provider 9 (JWT access tokens, ES256)",
    "bare": "bare axum + ring signer (examples/bare_signer.rs)",
}


def spread(values, fmt):
    """Median, and min-max when there are several runs."""
    med = statistics.median(values)
    if len(values) < 2:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    path, machine, runs, duration, rate, vus, commit, peer, out = sys.argv[1:]
    rows = [json.loads(line) for line in open(path) if line.strip()]

    def pick(server, mode, grant="client_credentials"):
        return [r for r in rows if r["server"] == server and r["mode"] == mode and r["grant"] == grant]

    def per_cpu(r):
        return r["tokens"] / r["cpu"] if r["cpu"] else float("inf")

    def cpu_per_1000(r):
        return 1000 * r["cpu"] / r["tokens"] if r["tokens"] else float("inf")

    servers = [s for s in ("token_service", "peer", "bare") if pick(s, "closed")]
    lines = [
        f"Machine: {machine}. Commit {commit}; {runs} runs of {duration} each, medians with "
        f"min–max. Servers on core 0, k6 on core 1.",
        "",
        f"### client_credentials, closed loop ({vus} VUs)",
        "",
        "| server | tokens/s | server CPU-s per 1,000 tokens | tokens per server CPU-s | p99 ms | RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for s in servers:
        rs = pick(s, "closed")
        lines.append(
            f"| {NAMES[s]} | {spread([r['rate'] for r in rs], '{:,.0f}')} "
            f"| {spread([cpu_per_1000(r) for r in rs], '{:.4f}')} "
            f"| {spread([per_cpu(r) for r in rs], '{:,.0f}')} "
            f"| {spread([r['p99'] for r in rs], '{:.2f}')} "
            f"| {spread([r['rss_mib'] for r in rs], '{:.0f}')} |"
        )
    lines += [
        "",
        f"### client_credentials, constant {int(rate):,} tokens/s (k6 constant-arrival-rate)",
        "",
        "| server | tokens/s reached | dropped | p50 ms | p99 ms | server CPU-s per 1,000 tokens | RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in servers:
        rs = pick(s, "rate")
        lines.append(
            f"| {NAMES[s]} | {spread([r['rate'] for r in rs], '{:,.0f}')} "
            f"| {spread([r['dropped'] for r in rs], '{:,.0f}')} "
            f"| {spread([r['p50'] for r in rs], '{:.2f}')} "
            f"| {spread([r['p99'] for r in rs], '{:.2f}')} "
            f"| {spread([cpu_per_1000(r) for r in rs], '{:.4f}')} "
            f"| {spread([r['rss_mib'] for r in rs], '{:.0f}')} |"
        )
    grants = pick("token_service", "closed", "password")
    pool = pick("argon2_pool", "closed", "password")
    if grants and pool:
        lines += [
            "",
            "### password grant (argon2id m=19456 t=2) against the argon2 pool alone",
            "",
            "| what | per second | server CPU-s per grant |",
            "|---|---|---|",
            f"| password grants through HTTP (4 VUs: the login throttle lets 5 attempts per username run at once) | {spread([r['rate'] for r in grants], '{:.2f}')} "
            f"| {spread([r['cpu'] / r['tokens'] for r in grants if r['tokens']], '{:.4f}')} |",
            f"| the pool's {pool[0]['workers']} worker(s) alone, 4 callers "
            f"(examples/argon2_capacity.rs) | {spread([r['rate'] for r in pool], '{:.2f}')} | |",
        ]

    def med(server, mode, f, grant="client_credentials"):
        rs = pick(server, mode, grant)
        return statistics.median([f(r) for r in rs]) if rs else None

    targets = []
    ts, bare = med("token_service", "closed", per_cpu), med("bare", "closed", per_cpu)
    if ts and bare:
        # A run measures both servers within a minute of each other, so its ratio is paired:
        # the load of whatever else shares the machine drifts between runs more than within
        # one. The target is the median of the runs' ratios; the ratio of the medians is
        # shown beside it.
        pairs = {r["run"]: per_cpu(r) for r in pick("bare", "closed")}
        ratios = sorted(per_cpu(r) / pairs[r["run"]] for r in pick("token_service", "closed") if r["run"] in pairs)
        ratio = statistics.median(ratios)
        runs_text = ", ".join(f"{x:.1%}" for x in ratios)
        targets.append((
            "tokens per server CPU-s ≥ 90% of the bare signer's (median of the runs' ratios)",
            f"{ratio:.1%} (runs {runs_text}; ratio of the medians {ts / bare:.1%})",
            ratio >= 0.9,
        ))
    pr = med("peer", "closed", per_cpu)
    if ts and pr:
        ratio = ts / pr
        targets.append(("tokens per server CPU-s ≥ 5× node-oidc-provider's", f"{ratio:.1f}×", ratio >= 5))
    elif peer != "yes":
        targets.append(("tokens per server CPU-s ≥ 5× node-oidc-provider's", "peer skipped (npm unreachable)", None))
    p99_ts, p99_bare = med("token_service", "rate", lambda r: r["p99"]), med("bare", "rate", lambda r: r["p99"])
    if p99_ts and p99_bare:
        ratio = p99_ts / p99_bare
        targets.append((f"p99 at {int(rate):,} tokens/s ≤ 1.2× the bare signer's", f"{ratio:.2f}×", ratio <= 1.2))
    g = med("token_service", "closed", lambda r: r["rate"], "password")
    c = med("argon2_pool", "closed", lambda r: r["rate"], "password")
    if g and c:
        ratio = g / c
        targets.append(("password grants ≥ 90% of the argon2 pool's capacity", f"{ratio:.1%}", ratio >= 0.9))
    lines += ["", "### Targets (medians of this run)", "", "| target | measured | met |", "|---|---|---|"]
    for name, value, met in targets:
        lines.append(f"| {name} | {value} | {'—' if met is None else ('yes' if met else 'no')} |")

    table = "\n".join(lines)
    print(table)
    out = Path(out)
    text = out.read_text() if out.exists() else "# Benchmarks\n\nWritten by `bench/run.sh`.\n\n"
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text)


if __name__ == "__main__":
    main()
