# syntax=docker/dockerfile:1
# Build: docker build -t token-service .
# Run:   docker run -p 8080:8080 -e TS_ISSUER=https://auth.example.com \
#          -v /path/to/config.toml:/etc/token-service/config.toml:ro \
#          -v /path/to/keys:/etc/token-service/keys:ro token-service

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin token-service

FROM debian:bookworm-slim
# ca-certificates unpinned on purpose: Debian replaces a point release's version in place, so
# a pin breaks the build at the next security update; the base image's release is the pin.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home token-service
COPY --from=build /src/target/release/token-service /usr/local/bin/token-service
USER 10001
ENV TS_LISTEN=0.0.0.0:8080 \
    TS_CONFIG_FILE=/etc/token-service/config.toml \
    TS_KEYS_DIR=/etc/token-service/keys \
    TS_LOG_FORMAT=json
EXPOSE 8080
# SIGTERM drains in-flight requests and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/token-service"]
CMD ["serve"]
