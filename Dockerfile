# syntax=docker/dockerfile:1
# ferrid's image: built in the Rust image, run from a slim Debian holding only the binary.
#
# The build stage copies exactly what `cargo build --locked --bin ferrid` reads: the workspace
# manifests and lock file, src/, templates/ (askama and include_str! read them at compile time)
# and benches/ (a workspace member: cargo loads its manifest, and a package must have a target).
# tests/it/docker_context.rs checks these COPY lines against every file the build reads (without
# Docker), so a path missing here fails `cargo test`.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
COPY templates ./templates
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked --bin ferrid

FROM debian:bookworm-slim
# ca-certificates: the system roots, for TLS to Redis (rediss://) and other peers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ferrid \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ferrid \
        --shell /usr/sbin/nologin ferrid \
    && mkdir -p /var/lib/ferrid/keys \
    && chown -R ferrid:ferrid /var/lib/ferrid \
    && chmod 700 /var/lib/ferrid/keys
COPY --from=build /src/target/release/ferrid /usr/local/bin/ferrid
# A numeric user, so a runtime that enforces "non-root" (Kubernetes runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /var/lib/ferrid
# Listen on every interface inside the container. Without FERRID_ISSUER the issuer follows the
# bind port (http://127.0.0.1:8080); set it to the URL clients use.
ENV FERRID_BIND=0.0.0.0:8080 \
    FERRID_KEYS__DIR=/var/lib/ferrid/keys \
    FERRID_LOG__FORMAT=json
EXPOSE 8080
# `ferrid healthcheck` asks /readyz on the bind address (200 = store reachable, keys loaded); the
# image needs no curl, wget or shell for it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["ferrid", "healthcheck"]
ENTRYPOINT ["ferrid"]
CMD ["serve"]
