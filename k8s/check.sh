#!/usr/bin/env bash
# Checks the Kubernetes manifests and the Dockerfile without a cluster:
#   - every overlay renders (`kubectl kustomize`),
#   - every rendered object validates against the Kubernetes schemas (kubernetes-validate,
#     which ships the schemas: no network),
#   - the dev overlay's config is config/dev.toml, and each overlay's config file and TS_*
#     settings pass `token-service check-config`,
#   - the Dockerfile passes hadolint.
# Needs kubectl, kubernetes-validate and hadolint (.ci/run installs them) and the binary
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

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  rendered="$work/$name.yaml"
  # kustomize's deprecation notes (the manifests keep to what Debian's kubectl 1.20 reads).
  kubectl kustomize "$overlay" >"$rendered" 2>"$work/$name.err" ||
    { cat "$work/$name.err" >&2; echo "$name: does not render" >&2; exit 1; }
  kubernetes-validate --strict --quiet "$rendered" ||
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

hadolint Dockerfile
echo "Dockerfile: hadolint ok"
