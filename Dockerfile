# Switchyard container image.
#
# There is no Docker engine on our build machines, so this file is not built
# in CI. It is kept correct by review: when the crate layout, the binary name,
# the ports or the config path change, update this file in the same change.
#
#   docker build -t switchyard .
#   docker run --rm -p 8080:8080 -p 9901:9901 \
#     -v "$PWD/my.yaml:/etc/switchyard/switchyard.yaml:ro" switchyard
#
# The shipped config/switchyard.yaml binds the admin API to 127.0.0.1:9901 and
# points at vendors on 127.0.0.1. Inside a container neither is reachable from
# outside, so mount your own config with `admin.listen: 0.0.0.0:9901` and real
# endpoint URLs. Give `docker stop` (or `stop_grace_period`) more time than
# `runtime.shutdown_timeout` (default 30s); Docker's default of 10s cuts the
# drain short.

# --- build -------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# Only what `cargo build` needs; .dockerignore keeps target/ and .git/ out.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked

# --- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: for TLS to upstreams once that lands; costs little now.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged UID; both ports are above 1024, so no capabilities.
RUN groupadd --system --gid 10001 switchyard \
    && useradd --system --uid 10001 --gid switchyard \
       --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin switchyard
COPY --from=builder /src/target/release/switchyard /usr/local/bin/switchyard
COPY config/ /etc/switchyard/
USER switchyard:switchyard
# 8080: traffic (listeners[].listen); 9901: admin API (admin.listen).
EXPOSE 8080 9901
# Exec form, so switchyard is PID 1 and gets SIGTERM itself for graceful drain.
ENTRYPOINT ["switchyard"]
CMD ["run", "--config", "/etc/switchyard/switchyard.yaml"]
