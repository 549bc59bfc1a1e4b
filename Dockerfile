# Multi-stage build: compile in the Rust image, run from a slim Debian with only the binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin ferrid

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /var/lib/ferrid ferrid \
    && mkdir -p /var/lib/ferrid/keys && chown -R ferrid /var/lib/ferrid
COPY --from=build /src/target/release/ferrid /usr/local/bin/ferrid
USER ferrid
WORKDIR /var/lib/ferrid
ENV FERRID_BIND=0.0.0.0:8080 FERRID_KEYS__DIR=/var/lib/ferrid/keys FERRID_LOG__FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ferrid"]
CMD ["serve"]
