# syntax=docker/dockerfile:1
# Build: docker build -t backorder .
# Run:   docker run -p 8080:8080 -e BACKORDER__SHOPIFY__API_KEY=… -e BACKORDER__SHOPIFY__API_SECRET=… \
#          -e BACKORDER__SECURITY__ENCRYPTION_KEY=… -e BACKORDER__STORE__URL=redis://redis:6379/ backorder

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Dependencies first, against a dummy main, so this layer stays cached until Cargo.toml changes.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY config config
COPY fixtures fixtures
COPY src src
# Make sure cargo sees the real sources as newer than the dummy build.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home backorder
WORKDIR /app
COPY --from=build /src/target/release/backorder /usr/local/bin/backorder
COPY config config
USER backorder
ENV BACKORDER__SERVER__BIND=0.0.0.0:8080 \
    BACKORDER__STORE__URL=file:///app/data
EXPOSE 8080
VOLUME ["/app/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["backorder"]
CMD ["serve"]
