#!/usr/bin/env bash
# Copies what controller-gen generates (`make manifests`) into the Helm chart, byte for byte:
#   config/crd/bases/*.yaml  -> charts/acs-operator/crds/
#   config/rbac/role.yaml    -> charts/acs-operator/files/manager-role.yaml (the chart's
#                               manager ClusterRole takes its rules from this copy)
# test/packaging fails when a copy differs, so run this after every `make manifests`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/charts/acs-operator"

mkdir -p "$chart/crds" "$chart/files"
# Drop CRDs that no longer exist in bases, then copy the current ones.
find "$chart/crds" -maxdepth 1 -name '*.yaml' -delete
cp "$root"/config/crd/bases/*.yaml "$chart/crds/"
cp "$root/config/rbac/role.yaml" "$chart/files/manager-role.yaml"
echo "synced $(find "$chart/crds" -maxdepth 1 -name '*.yaml' | wc -l) CRDs and the manager ClusterRole into ${chart#"$root/"}"
