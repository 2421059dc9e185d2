# acs-operator: the two commands a fresh machine needs are `make demo` and `make test`.
# Tools are pinned in hack/tools/go.mod and built into bin/ with their version in the name;
# the control plane for the tests is built from source by hack/envtest-binaries.sh and cached
# outside the clone.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
GO ?= go

tool_version = $(shell awk '$$1=="$(1)" {print $$2}' hack/tools/go.mod)
CONTROLLER_GEN := bin/controller-gen-$(call tool_version,sigs.k8s.io/controller-tools)
GINKGO := bin/ginkgo-$(call tool_version,github.com/onsi/ginkgo/v2)
HELM := bin/helm-$(shell awk '$$1=="helm.sh/helm/v3" {print $$2}' hack/helm/go.mod)
IMG ?= ghcr.io/acs-operator/acs-operator:v0.1.0
CONTAINER_TOOL ?= docker
ENVTEST_ASSETS := $(CURDIR)/bin/k8s

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./internal/controller/..." output:crd:artifacts:config=config/crd/bases
	hack/sync-chart-crds.sh

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy functions.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when a generated file (CRD, RBAC, deepcopy) is stale or uncommitted.
	@paths="api config charts/acs-operator/crds charts/acs-operator/files"; \
	if ! git diff --quiet -- $$paths || [ -n "$$(git status --porcelain --untracked-files=all -- $$paths)" ]; then \
	  echo "Generated files are stale: run 'make manifests generate' and commit the result:"; \
	  git status --short -- $$paths; git --no-pager diff --stat -- $$paths; exit 1; \
	fi

.PHONY: fmt
fmt: ## gofmt the sources.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, and fail on unformatted files.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/') 2>/dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: envtest
envtest: ## Build (once per machine) and link the kube-apiserver and etcd the tests run.
	@hack/envtest-binaries.sh >/dev/null

.PHONY: fake-seam
fake-seam: hack/fake-seam/node_modules/.installed ## Install @seamapi/fake-seam-connect (npm ci).

hack/fake-seam/node_modules/.installed: hack/fake-seam/package-lock.json
	cd hack/fake-seam && npm ci --no-audit --no-fund
	touch $@

##@ Demo

.PHONY: demo
demo: envtest build ## Local control plane + Seam sandbox + operator, samples applied and Ready; Ctrl-C stops it.
	$(GO) build -o bin/demo ./hack/demo
	bin/demo

##@ Test

.PHONY: test
test: verify-generated vet envtest fake-seam $(GINKGO) $(HELM) ## Everything CI runs: generated-file check, vet, unit, contract and envtest suites, and a 50 s chaos run (test/chaos).
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(GINKGO) -r --keep-going --timeout=30m --poll-progress-after=120s --output-interceptor-mode=none ./...

.PHONY: test-unit
test-unit: ## Only the fast tests (no control plane, no npm: suites that need them skip under -short).
	$(GO) test -short ./api/... ./internal/...

.PHONY: test-packaging
test-packaging: envtest $(HELM) ## Only the packaging suite: kustomize, Helm chart, Dockerfile, kstatus and Argo CD health.
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) $(GO) test ./test/packaging/ -count=1

.PHONY: bench
bench: envtest build ## Measure the operator at scale against the sandbox and print numbers (BENCH_ARGS="-n 1000,10000,30000 -out bench.json -markdown bench.md").
	$(GO) run ./test/bench $(BENCH_ARGS)

.PHONY: chaos
chaos: envtest ## Two managers with leader election, faults and a random workload, then the invariants as numbers (CHAOS_ARGS="-duration 10m -n 300 -seed 7 -replicas 2").
	$(GO) run ./test/chaos $(CHAOS_ARGS)

##@ Build

.PHONY: build
build: ## Build the manager, the sandbox and the kubectl plugin (kubectl-acs) into bin/.
	$(GO) build -trimpath -o bin/manager ./cmd/manager
	$(GO) build -trimpath -o bin/seam-sandbox ./cmd/seam-sandbox
	$(GO) build -trimpath -o bin/kubectl-acs ./cmd/kubectl-acs

##@ Deploy

.PHONY: build-installer
build-installer: manifests ## Write dist/install.yaml (CRDs, RBAC, Deployment, metrics Service) for IMG.
	hack/build-installer.sh $(IMG)

.PHONY: docker-build
docker-build: ## Build the manager image IMG (needs a container engine; CI machines have none, a test checks the Dockerfile instead).
	$(CONTAINER_TOOL) build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the manager image IMG.
	$(CONTAINER_TOOL) push $(IMG)

##@ Tools

.PHONY: helm
helm: $(HELM) ## Build the pinned helm into bin/ (the packaging tests run it).

$(HELM): hack/helm/go.mod
	hack/build-helm.sh

$(CONTROLLER_GEN): hack/tools/go.mod
	cd hack/tools && $(GO) build -o $(CURDIR)/$@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(GINKGO): hack/tools/go.mod
	cd hack/tools && $(GO) build -o $(CURDIR)/$@ github.com/onsi/ginkgo/v2/ginkgo
