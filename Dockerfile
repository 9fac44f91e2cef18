# flowhost in a container: the same layout and start as the systemd unit
# (config/flowhost.service; docs/deploy.md "Docker"). Minimal on purpose:
# secrets come from the environment, Redis is another container (compose).
# Not built or run on the machine this repository is developed on (no
# container runtime there): treat it as a starting point and test it.
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libluajit-5.1-dev libcurl4-openssl-dev \
      lua-cjson-dev libhiredis-dev libmicrohttpd-dev libuv1-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j"$(nproc)" --target flowhost

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libluajit-5.1-2 liblua5.1-cjson0 lua-cjson libcurl4 libhiredis0.14 libmicrohttpd12 \
      libuv1 libssl3 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /opt/flowhost --shell /usr/sbin/nologin flowhost
WORKDIR /opt/flowhost
COPY --from=build /src/build/flowhost build/flowhost
COPY scripts scripts
COPY config config
COPY flows flows
# reps registered through the admin API are written to config/tenants
RUN chown -R flowhost:flowhost config/tenants
USER flowhost
ENV FLOWHOST_LISTEN=0.0.0.0:8080 FLOWHOST_MAX_CONNECTIONS_PER_IP=0
EXPOSE 8080
# SIGTERM finishes in-flight turns (shutdown_grace, 10 s): give it that
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
# reads config/flowhost.lua from /opt/flowhost, as under systemd
CMD ["build/flowhost", "serve"]
