#!/usr/bin/env bash
# Checks the Kubernetes manifests and the Dockerfile without a cluster:
#   - every overlay renders (`kubectl kustomize`), and so does the production overlay with the
#     monitoring component (components/monitoring) added,
#   - every rendered object validates against the Kubernetes schemas (kubernetes-validate,
#     which ships the schemas: no network); it has none for the Prometheus Operator's
#     PrometheusRule and ServiceMonitor, which are checked here against a minimal schema
#     instead, and the ServiceMonitor against the Service, port and TS_METRICS_LISTEN it scrapes,
#   - the monitoring component's rules, their unit tests and the dashboard's queries pass
#     promtool (components/monitoring/check.sh),
#   - the dev overlay's config is config/dev.toml, and each overlay's config file and TS_*
#     settings pass `token-service check-config`,
#   - the Dockerfile passes hadolint.
# Needs kubectl, kubernetes-validate, hadolint and promtool (.ci/run installs them) and the binary
# (TOKEN_SERVICE_BIN, default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${TOKEN_SERVICE_BIN:-${CARGO_TARGET_DIR:-target}/release/token-service}
[ -x "$bin" ] || { echo "k8s/check.sh: no binary at $bin (cargo build --release)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmp config/dev.toml k8s/overlays/dev/config.toml ||
  { echo "k8s/overlays/dev/config.toml differs from config/dev.toml: copy it" >&2; exit 1; }

# A throwaway key: check-config needs one to sign with; the manifests never hold one.
"$bin" keygen --dir "$work/keys" >/dev/null

overlays=(k8s/overlays/*/)
# The production overlay with the monitoring component, as README "Running it in production"
# enables it. Written here, not kept beside the overlays, where it could be applied by mistake
# to a cluster without the Prometheus Operator; kustomize takes relative paths only.
# Components need kustomize 3.7 (kubectl 1.21): Debian's kubectl 1.20 has kustomize 2.
if kubectl version --client 2>/dev/null | grep -Eq 'Kustomize Version: v([4-9]|3\.([7-9]|[1-9][0-9]))'; then
  mkdir "$work/production+monitoring"
  k8s=$(python3 -c 'import os, sys; print(os.path.relpath(*sys.argv[1:]))' "$PWD/k8s" "$work/production+monitoring")
  printf '%s\n' 'apiVersion: kustomize.config.k8s.io/v1beta1' 'kind: Kustomization' \
    "resources: [$k8s/overlays/production]" "components: [$k8s/components/monitoring]" \
    >"$work/production+monitoring/kustomization.yaml"
  overlays+=("$work/production+monitoring/")
else
  echo "k8s/production+monitoring: not rendered: this kubectl's kustomize has no components (kubectl 1.21 or later has)" >&2
fi

for overlay in "${overlays[@]}"; do
  name=$(basename "$overlay")
  rendered="$work/$name.yaml"
  # kustomize's deprecation notes (the manifests keep to what Debian's kubectl 1.20 reads).
  kubectl kustomize "$overlay" >"$rendered" 2>"$work/$name.err" ||
    { cat "$work/$name.err" >&2; echo "$name: does not render" >&2; exit 1; }
  # The Prometheus Operator's objects apart: kubernetes-validate has no schema for a CRD and
  # would only warn. Each is checked for the fields the operator needs, and the ServiceMonitor
  # against the Service and port it selects.
  python3 - "$rendered" "$work/$name.core.yaml" <<'PY' ||
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump_all([d for d in docs if not d["apiVersion"].startswith("monitoring.coreos.com/")],
                   open(sys.argv[2], "w"))
errors = []
def need(ok, what):
    if not ok:
        errors.append(what)
duration = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
def check_rules(where, spec):
    need(set(spec) == {"groups"} and spec["groups"], f"{where}: spec has groups only")
    for g in spec.get("groups", []):
        need(set(g) <= {"name", "interval", "rules"} and isinstance(g.get("name"), str)
             and g.get("rules"), f"{where}: group {g.get('name')}")
        for r in g.get("rules", []):
            name = r.get("alert") or r.get("record")
            need(("alert" in r) != ("record" in r), f"{where}: {name}: one of alert and record")
            need(set(r) <= {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"},
                 f"{where}: {name}: unknown fields in {sorted(r)}")
            need(isinstance(r.get("expr"), str) and r["expr"].strip(), f"{where}: {name}: expr")
            need("for" not in r or duration.match(str(r["for"])), f"{where}: {name}: for")
            for field in ("labels", "annotations"):
                need(all(isinstance(v, str) for v in (r.get(field) or {}).values()),
                     f"{where}: {name}: {field} are strings")
            if "alert" in r:
                need(r.get("labels", {}).get("severity") in ("critical", "warning"),
                     f"{where}: {name}: severity critical or warning")
                need({"summary", "description", "runbook_url"} <= set(r.get("annotations", {})),
                     f"{where}: {name}: summary, description and runbook_url")
def check_monitor(where, spec):
    need(set(spec) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"},
         f"{where}: unknown fields in {sorted(spec)}")
    labels = spec.get("selector", {}).get("matchLabels") or {}
    services = [s for s in docs if s["kind"] == "Service"
                and labels.items() <= (s["metadata"].get("labels") or {}).items()]
    need(labels and len(services) == 1, f"{where}: selects {len(services)} Services, not one")
    endpoints = spec.get("endpoints") or []
    need(endpoints and all(isinstance(e.get("port"), str) for e in endpoints),
         f"{where}: endpoints name their port")
    if errors:
        return
    # Each endpoint's port reaches the Deployment's port of TS_METRICS_LISTEN.
    deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "token-service")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    container_ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    env = {}
    for source in container.get("envFrom", []):
        env.update(next(c for c in docs if c["kind"] == "ConfigMap"
                        and c["metadata"]["name"] == source["configMapRef"]["name"])["data"])
    listen = env.get("TS_METRICS_LISTEN", env.get("TS_LISTEN", "0.0.0.0:8080"))
    for e in endpoints:
        port = next((p for p in services[0]["spec"]["ports"] if p.get("name") == e["port"]), {})
        need(container_ports.get(port.get("targetPort")) == int(listen.rsplit(":", 1)[1]),
             f"{where}: port {e['port']} does not reach TS_METRICS_LISTEN={listen}")
for d in docs:
    if not d["apiVersion"].startswith("monitoring.coreos.com/"):
        continue
    where = f"{d['kind']}/{d['metadata'].get('name')}"
    need(d["apiVersion"] == "monitoring.coreos.com/v1", f"{where}: apiVersion")
    if d["kind"] == "PrometheusRule":
        check_rules(where, d.get("spec") or {})
    elif d["kind"] == "ServiceMonitor":
        check_monitor(where, d.get("spec") or {})
    else:
        need(False, f"{where}: no check for this kind")
    if not errors:
        print(f"{where}: checked against a minimal schema (kubernetes-validate has no CRD schemas)")
if errors:
    sys.exit("\n".join(errors))
PY
    { echo "$name: a Prometheus Operator object is incomplete" >&2; exit 1; }
  kubernetes-validate --strict --quiet "$work/$name.core.yaml" ||
    { echo "$name: an object does not validate against the Kubernetes schemas" >&2; exit 1; }
  # The config file and the literal TS_* settings of the Deployment's ConfigMaps; a value
  # the Deployment takes from a Secret gets a placeholder (check-config contacts no Redis).
  python3 - "$rendered" "$work/$name" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = sys.argv[2]
deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "token-service")
pod = deploy["spec"]["template"]["spec"]
container = pod["containers"][0]
maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
env = {}
for source in container.get("envFrom", []):
    env.update(maps[source["configMapRef"]["name"]]["data"])
for var in container.get("env", []):
    env[var["name"]] = var.get("value", "redis://placeholder.invalid:6379")
config_map = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config")
open(out + ".toml", "w").write(maps[config_map]["data"]["config.toml"])
with open(out + ".env", "w") as f:
    for k, v in sorted(env.items()):
        if k not in ("TS_CONFIG_FILE", "TS_KEYS_DIR"):
            f.write(f"{k}={v}\n")
PY
  if ! (
    while IFS= read -r line; do export "${line?}"; done <"$work/$name.env"
    TS_CONFIG_FILE="$work/$name.toml" TS_KEYS_DIR="$work/keys" "$bin" check-config
  ); then
    echo "$name: the config file or settings fail check-config" >&2
    exit 1
  fi
  echo "k8s/$name: renders, validates, check-config ok"
done

bash k8s/components/monitoring/check.sh

hadolint Dockerfile
echo "Dockerfile: hadolint ok"
