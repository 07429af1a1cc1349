# Build a static binary, then ship it alone in a distroless image as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY policies ./policies
COPY server ./server
COPY storage ./storage
# The build context has no .git for the go command to read the revision
# from: pass them, e.g. --build-arg VERSION=$(git describe --tags --always)
# --build-arg REVISION=$(git rev-parse HEAD). `scimd version` and the
# scimd_build_info metric show them.
ARG VERSION=""
ARG REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
    -o /out/scimd ./cmd/scimd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /usr/local/bin/scimd
USER nonroot:nonroot
# In a container, listen on every interface; point SCIMD_REDIS_URL at Redis
# with AOF and set SCIMD_OPERATOR_TOKEN and SCIMD_PUBLIC_URL.
ENV SCIMD_ADDR=0.0.0.0:8080
EXPOSE 8080
# Distroless has no curl: scimd asks its own /healthz (on SCIMD_ADDR's port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/scimd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/scimd"]
CMD ["serve"]
