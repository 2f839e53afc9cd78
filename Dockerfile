# Build: a static xdhcpd and xdhcpctl. The XDP object is committed, so no
# clang is needed here.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/ ./cmd/xdhcpd ./cmd/xdhcpctl

# Run: nothing but the binaries. Needs --network host and the capabilities
# listed in README.md.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/xdhcpd /out/xdhcpctl /usr/local/bin/
VOLUME ["/var/lib/xdhcp", "/run/xdhcp"]
ENTRYPOINT ["/usr/local/bin/xdhcpd"]
CMD ["--config", "/etc/xdhcp/xdhcpd.yaml"]
