# syntax=docker/dockerfile:1
# The manager image: a static binary on distroless, running as non-root.
#   make docker-build IMG=ghcr.io/acs-operator/acs-operator:v0.1.0
# test/packaging parses this file and checks these properties; keep them when editing.

FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /workspace

# Dependencies first, in their own layer, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/

# Static (no cgo, so it runs on distroless/static), reproducible paths, no symbol tables.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /manager ./cmd/manager

# distroless/static has no shell and no package manager; :nonroot runs as 65532.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
