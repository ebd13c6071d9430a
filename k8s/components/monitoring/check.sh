#!/usr/bin/env bash
# Checks the monitoring component without a cluster or a Prometheus:
#   - prometheusrule.yaml's spec is what promtool reads (extracted, never kept twice), every
#     alert has a runbook_url naming a section of docs/runbook.md, and rules.test.yaml expects
#     each alert both to fire and to stay quiet;
#   - `promtool check rules` parses every rule, `promtool test rules` runs rules.test.yaml;
#   - every PromQL expression of the dashboard parses: promtool checks them as recording rules
#     (Grafana's $variables replaced by values), since `promtool query` needs a server.
# Needs python3 with PyYAML and promtool (Debian's `prometheus` package; .ci/run installs it).
# tests/it/monitoring.rs checks that the token_service_* names used here are exported.
set -euo pipefail
cd "$(dirname "$0")"
command -v promtool >/dev/null ||
  { echo "monitoring/check.sh: no promtool (apt-get install prometheus)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - prometheusrule.yaml rules.test.yaml token-service-dashboard.json ../../../docs/runbook.md "$work" <<'PY'
import json, re, sys, yaml

rule_path, test_path, dashboard_path, runbook_path, work = sys.argv[1:]
rule = yaml.safe_load(open(rule_path))
assert rule["kind"] == "PrometheusRule", rule_path
spec = rule["spec"]
with open(f"{work}/rules.yaml", "w") as f:
    yaml.safe_dump(spec, f, sort_keys=False)

# GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
anchors = {
    re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
    for line in open(runbook_path) if line.startswith("#")
}
alerts = [r for g in spec["groups"] for r in g["rules"] if "alert" in r]
errors = []
for a in alerts:
    url = a.get("annotations", {}).get("runbook_url", "")
    page, _, anchor = url.partition("#")
    if not page.endswith("/docs/runbook.md") or anchor not in anchors:
        errors.append(f"{a['alert']}: runbook_url {url!r} names no section of docs/runbook.md")

fires, quiet = set(), set()
for test in yaml.safe_load(open(test_path))["tests"]:
    for case in test.get("alert_rule_test", []):
        (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
for a in alerts:
    for kind, seen in (("fires", fires), ("stays quiet", quiet)):
        if a["alert"] not in seen:
            errors.append(f"{a['alert']}: rules.test.yaml has no case where it {kind}")

# The dashboard's queries as recording rules, for promtool to parse.
values = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$namespace": "default"}
exprs = []
def walk(node):
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            exprs.append(node["expr"])
        for v in node.values():
            walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(json.load(open(dashboard_path)))
rules = []
for n, expr in enumerate(exprs):
    for var, value in values.items():
        expr = expr.replace(var, value)
    if "$" in expr:
        errors.append(f"dashboard: an unknown variable in {expr!r}")
    rules.append({"record": f"dashboard:expr_{n}", "expr": expr})
with open(f"{work}/dashboard-rules.yaml", "w") as f:
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)

if errors:
    sys.exit("\n".join(errors))
print(f"monitoring: {len(alerts)} alerts with runbook sections and tests both ways; {len(exprs)} dashboard queries")
PY
cp rules.test.yaml "$work/"
promtool check rules "$work/rules.yaml"
promtool test rules "$work/rules.test.yaml"
promtool check rules "$work/dashboard-rules.yaml" >/dev/null ||
  { promtool check rules "$work/dashboard-rules.yaml" >&2 || true; echo "dashboard: a query does not parse" >&2; exit 1; }
echo "monitoring: the dashboard's queries parse"
