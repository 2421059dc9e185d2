#!/usr/bin/env bash
# Builds kube-apiserver and etcd for envtest from the Go module proxy (setup-envtest's
# download host is unreachable from our machines), caches them outside the clone keyed by
# version, and links them into bin/k8s. A second run on the same machine builds nothing.
#
# Versions come from hack/envtest/go.mod, which pins k8s.io/kubernetes at the minor of the
# k8s.io/api the operator builds against.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/hack/envtest"
k8s_version=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$mod/go.mod")
etcd_version=$(awk '$1=="require" && $2=="go.etcd.io/etcd/server/v3" {print $3}' "$mod/go.mod")
key="kube-apiserver-${k8s_version}_etcd-${etcd_version}_$(go env GOOS)-$(go env GOARCH)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/acs-operator/envtest/$key"
link="$root/bin/k8s"

if [[ ! -x "$cache/kube-apiserver" || ! -x "$cache/etcd" ]]; then
  echo "envtest: building kube-apiserver $k8s_version and etcd $etcd_version into $cache (first run on this machine takes about 5 minutes)" >&2
  mkdir -p "$cache.tmp"
  minor=${k8s_version#v*.}; minor=${minor%%.*}
  major=${k8s_version#v}; major=${major%%.*}
  ldflags="-s -w"
  # Without these the apiserver reports v0.0.0-master+$Format:%H$, which kubectl and helm cannot parse.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (
    cd "$mod"
    export CGO_ENABLED=0
    go build -trimpath -ldflags "$ldflags" -o "$cache.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "-s -w" -o "$cache.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi

mkdir -p "$link"
ln -sfn "$cache/kube-apiserver" "$link/kube-apiserver"
ln -sfn "$cache/etcd" "$link/etcd"
echo "$link"
