# syntax=docker/dockerfile:1
#
# crashloop-exporter: a static binary on distroless, running as 65532 (nonroot).
#
#   docker build -t ghcr.io/crashloop-exporter/crashloop-exporter:0.1.0 .
#
# The builder is Alpine's Rust, whose default target is musl: the binary is linked
# statically (rustls + ring, no OpenSSL), so the final image needs no libc and gets only
# CA certificates, /etc/passwd and tzdata from distroless/static. Multi-arch builds work
# unchanged (`docker buildx build --platform linux/amd64,linux/arm64 .`): the target is the
# builder's own.

FROM rust:1-alpine AS builder
# ring compiles some C and assembly.
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
COPY crates ./crates
COPY tests ./tests
# The commit crashloop_exporter_build_info reports (the context has no .git):
#   docker build --build-arg CRASHLOOP_GIT_REVISION=$(git rev-parse HEAD) .
ARG CRASHLOOP_GIT_REVISION=unknown
# No DWARF in the image (the release profile keeps line tables, which make the binary ~4x
# bigger); symbols stay, so panics still name their functions.
ENV CARGO_PROFILE_RELEASE_DEBUG=false
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin crashloop-exporter \
 && cp target/release/crashloop-exporter /crashloop-exporter \
 && /crashloop-exporter --version

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="crashloop-exporter" \
      org.opencontainers.image.description="Prometheus exporter that tells which Kubernetes containers are crash-looping and most likely why" \
      org.opencontainers.image.source="https://github.com/crashloop-exporter/crashloop-exporter" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /crashloop-exporter /usr/local/bin/crashloop-exporter
USER 65532:65532
EXPOSE 10743
ENTRYPOINT ["/usr/local/bin/crashloop-exporter"]
