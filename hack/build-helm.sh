#!/usr/bin/env bash
# Builds helm from the version pinned in hack/helm/go.mod into bin/helm-<version>, with the
# same version stamps helm's own release build sets: without them `helm version` is wrong
# and `helm template`/`helm lint` assume Kubernetes v1.20, the compiled-in default.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/hack/helm"
helm_version=$(awk '$1=="helm.sh/helm/v3" {print $2}' "$mod/go.mod")
client_go=$(awk '$1=="k8s.io/client-go" {print $2}' "$mod/go.mod")
# client-go v0.M.m is Kubernetes v1.M (helm's Makefile derives it the same way).
k8s_minor=$(cut -d. -f2 <<<"$client_go")
out="$root/bin/helm-$helm_version"

ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done

cd "$mod"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out" helm.sh/helm/v3/cmd/helm
echo "built ${out#"$root/"} (assumes Kubernetes v1.$k8s_minor when no cluster is asked)"
