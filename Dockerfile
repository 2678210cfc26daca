# Switchyard container image.
#
# There is no Docker engine on our build machines, so this file is not built
# in CI. It is kept correct by review: when the crate layout, the binary name,
# the ports or the config path change, update this file in the same change.
#
#   docker build -t switchyard .
#   docker run --rm -p 8080:8080 -p 9901:9901 \
#     -v "$PWD/conf:/etc/switchyard/config:ro" switchyard
#
# Mount a directory holding switchyard.yaml (and the certificates it names),
# not the single file: editors and tools that replace a file by renaming
# leave a single-file bind mount pointing at the old inode, so hot reload
# would never see the edit. Set SWITCHYARD_CONFIG for another file name.
#
# The shipped plugins (plugins/build.sh) are built in their own stage and
# land in /etc/switchyard/plugins/, next to /etc/switchyard/config/, so the
# configs' `file: ../plugins/NAME.wasm` paths resolve as in the repository.
# Mount your own plugins over /etc/switchyard/plugins/ to add more.
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
# What `cargo build` needs (the manifest names the bench and test targets,
# so their files must exist); .dockerignore keeps target/ and .git/ out.
# build.rs links the release binary with bench/symbol-order.txt's function
# layout (and packed relocations: the runtime stage's glibc is 2.36).
COPY Cargo.toml Cargo.lock build.rs ./
COPY bench/symbol-order.txt ./bench/
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked

# --- plugins -----------------------------------------------------------------
FROM debian:bookworm AS plugins
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang lld nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY plugins ./plugins
RUN bash plugins/build.sh --no-test

# --- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: the system roots that https:// endpoints are verified
# against by default (pools[].tls.ca overrides them per pool).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged UID; both ports are above 1024, so no capabilities.
RUN groupadd --system --gid 10001 switchyard \
    && useradd --system --uid 10001 --gid switchyard \
       --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin switchyard
COPY --from=builder /src/target/release/switchyard /usr/local/bin/switchyard
COPY config/ /etc/switchyard/config/
COPY --from=plugins /src/plugins/*.wasm /etc/switchyard/plugins/
USER switchyard:switchyard
# `run`, `check` and `healthcheck` read the config path from here unless
# given --config; mount your config over this path or change the variable.
ENV SWITCHYARD_CONFIG=/etc/switchyard/config/switchyard.yaml
# 8080: traffic (listeners[].listen); 9901: admin API (admin.listen).
EXPOSE 8080 9901
# GET /healthz on the config's admin.listen (0.0.0.0 is asked on 127.0.0.1);
# the image has no curl, the binary asks itself. Only admin.listen is read
# from the file, so an invalid edit (which the running proxy refuses) does
# not mark a healthy container unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["switchyard", "healthcheck", "--timeout", "2s"]
# Exec form, so switchyard is PID 1 and gets SIGTERM itself for graceful drain.
ENTRYPOINT ["switchyard"]
CMD ["run"]
