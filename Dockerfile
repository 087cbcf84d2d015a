# The reconciler image that `kubectl flows render` installs by default
# (ghcr.io/kubectl-flows/flows-reconciler:<version>): a static binary on
# distroless/static, running as the distroless nonroot user (65532), as the
# rendered Deployment's securityContext requires.
#
#   make image VERSION=v0.1.0          (docker build with the version stamped)
#
# Built with -trimpath and a fixed version, the binary is reproducible; the
# base images are pinned by tag (pin digests in a release pipeline).
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -buildid= -X github.com/kubectl-flows/kubectl-flows/version.Version=${VERSION}" \
    -o /out/flows-reconciler ./cmd/flows-reconciler

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source="https://github.com/kubectl-flows/kubectl-flows" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.title="flows-reconciler"
COPY --from=build /out/flows-reconciler /flows-reconciler
USER 65532:65532
ENTRYPOINT ["/flows-reconciler"]
