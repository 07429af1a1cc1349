# Build a static binary, then ship it alone in a distroless image as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY policies ./policies
COPY server ./server
COPY storage ./storage
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/scimd ./cmd/scimd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /usr/local/bin/scimd
USER nonroot:nonroot
# In a container, listen on every interface; point SCIMD_REDIS_URL at Redis
# with AOF and set SCIMD_OPERATOR_TOKEN and SCIMD_PUBLIC_URL.
ENV SCIMD_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/scimd"]
CMD ["serve"]
