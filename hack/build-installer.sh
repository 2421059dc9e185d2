#!/usr/bin/env bash
# Writes dist/install.yaml: everything config/default installs (CRDs, RBAC, Deployment,
# metrics Service) in one file, for `kubectl apply -f` from a release.
#
#   hack/build-installer.sh [IMAGE]   IMAGE is REPOSITORY:TAG or REPOSITORY@sha256:...;
#                                     without it, the image pinned in config/manager.
#   OUT=path hack/build-installer.sh  writes path instead of dist/install.yaml.
#
# kubectl's built-in kustomize renders it. A different image is set by a throwaway overlay
# (kustomize wants its bases as relative paths), so the pinned image in the work tree never
# changes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
img=${1:-}
pinned=ghcr.io/acs-operator/acs-operator
out=${OUT:-"$root/dist/install.yaml"}
dir="$root/config/default"

if [[ -n "$img" ]]; then
  if [[ "$img" == *@sha256:* ]]; then
    name=${img%@*} field="digest: ${img#*@}"
  elif [[ "${img##*/}" == *:* ]]; then
    name=${img%:*} field="newTag: ${img##*:}"
  else
    echo "build-installer: IMAGE must be REPOSITORY:TAG or REPOSITORY@sha256:..., got '$img'" >&2
    exit 2
  fi
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  cat >"$dir/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$dir" "$root/config/default")
images:
- name: $pinned
  newName: $name
  $field
YAML
fi

mkdir -p "$(dirname "$out")"
kubectl kustomize "$dir" >"$out"
echo "wrote ${out#"$root/"}"
