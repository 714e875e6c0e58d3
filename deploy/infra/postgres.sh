# shellcheck shell=bash
# PostgreSQL: our own cluster (initdb) under $LICHENG_INFRA_DIR/postgres/data, listening on
# 127.0.0.1 only. The Debian default cluster (port 5432) is neither used nor touched.
# Server binaries: /usr/lib/postgresql/<ver>/bin (apt-get install postgresql when missing).
# As root, initdb/pg_ctl/postgres run as the `postgres` system user (PostgreSQL refuses root).

: "${LICHENG_PG_PORT:=55432}"
: "${LICHENG_PG_USER:=licheng}"
: "${LICHENG_PG_PASSWORD:=licheng}"
: "${LICHENG_PG_DATABASES:=identity course_outcomes performances guidance exports}"
: "${LICHENG_PG_MAX_CONNECTIONS:=300}"
: "${LICHENG_PG_FSYNC:=off}"                # test profile: durability is not needed
: "${LICHENG_PG_SYNCHRONOUS_COMMIT:=off}"
: "${LICHENG_PG_SHARED_BUFFERS:=128MB}"
: "${LICHENG_PG_OS_USER:=postgres}"         # only used when running as root
: "${LICHENG_PG_START_TIMEOUT:=60}"
LICHENG_PG_SUPERUSER=postgres               # bootstrap superuser, reachable via the unix socket only

pg_data() { data_dir postgres; }
pg_url() { printf 'postgresql://%s@127.0.0.1:%s' "$LICHENG_PG_USER" "$LICHENG_PG_PORT"; }

# Directory for the unix socket: inside the infra dir unless that path is too long for a
# socket (108 bytes incl. "/.s.PGSQL.<port>"), then a per-port directory under /tmp.
pg_sockdir() {
    local d
    d="$(comp_dir postgres)/run"
    if ((${#d} > 90)); then
        d="/tmp/licheng-pg-$LICHENG_PG_PORT"
    fi
    printf '%s\n' "$d"
}

# Server bin dir: $LICHENG_PG_BIN_DIR, else the one matching an existing cluster's version,
# else the highest /usr/lib/postgresql/*/bin with initdb + pg_ctl.
pg_find_bindir() {
    local d ver
    if [[ -n ${LICHENG_PG_BIN_DIR:-} ]]; then
        [[ -x $LICHENG_PG_BIN_DIR/pg_ctl ]] || die "postgres: no pg_ctl in LICHENG_PG_BIN_DIR=$LICHENG_PG_BIN_DIR"
        printf '%s\n' "$LICHENG_PG_BIN_DIR"
        return 0
    fi
    if [[ -s $(pg_data)/PG_VERSION ]]; then
        ver=$(<"$(pg_data)/PG_VERSION")
        d=/usr/lib/postgresql/$ver/bin
        if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r); do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

pg_bindir() {
    local d
    if d=$(pg_find_bindir); then
        printf '%s\n' "$d"
        return 0
    fi
    log "postgres: no server binaries in /usr/lib/postgresql/*/bin; installing the Debian package" >&2
    apt_install postgresql >&2
    d=$(pg_find_bindir) || die "postgres: still no initdb/pg_ctl after apt-get install postgresql"
    printf '%s\n' "$d"
}

# Run a command as the PostgreSQL OS user (root) or as ourselves (non-root).
pg_as() {
    if is_root; then
        (cd / && runuser -u "$LICHENG_PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# As root: make every ancestor of <dir> traversable for the postgres user.
pg_make_traversable() {
    local d=$1
    is_root || return 0
    while [[ $d != / && -n $d ]]; do
        if ! runuser -u "$LICHENG_PG_OS_USER" -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d"
            log "postgres: chmod o+x $d (so that user $LICHENG_PG_OS_USER can reach its data)"
        fi
        d=$(dirname "$d")
    done
}

pg_chown() {
    if is_root; then
        chown "$LICHENG_PG_OS_USER:" "$@"
    fi
}

# pid of the running postmaster of our data dir (from postmaster.pid), kept in sync with
# run/postgres.pid. Removes stale lock/pid files left by a crash.
pg_running_pid() {
    local data pf pid
    data=$(pg_data)
    pf=$(pid_file postgres)
    if [[ -f $data/postmaster.pid ]]; then
        pid=$(head -n1 "$data/postmaster.pid" | tr -dc '0-9')
        if [[ -n $pid ]] && pid_matches "$pid" "$data"; then
            printf '%s\n' "$pid" >"$pf"
            printf '%s\n' "$pid"
            return 0
        fi
        log "postgres: removing stale $data/postmaster.pid (pid ${pid:-?} is not running)" >&2
        rm -f "$data/postmaster.pid"
    fi
    if [[ -f $pf ]]; then
        log "postgres: removing stale pid file $pf" >&2
        rm -f "$pf"
    fi
    return 1
}

pg_ready() { "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$LICHENG_PG_PORT" -t 2 >/dev/null 2>&1; }

pg_write_conf() {
    local data=$1 sockdir=$2
    cat >"$data/licheng.conf" <<EOF
# Written by deploy/infra/postgres.sh on every start; edit the LICHENG_PG_* variables instead.
listen_addresses = '127.0.0.1'
port = $LICHENG_PG_PORT
unix_socket_directories = '$sockdir'
max_connections = $LICHENG_PG_MAX_CONNECTIONS
shared_buffers = '$LICHENG_PG_SHARED_BUFFERS'
fsync = $LICHENG_PG_FSYNC
synchronous_commit = $LICHENG_PG_SYNCHRONOUS_COMMIT
full_page_writes = $LICHENG_PG_FSYNC
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    pg_chown "$data/licheng.conf"
}

pg_initdb() {
    local data=$1
    if [[ -d $data ]] && [[ -n $(ls -A "$data" 2>/dev/null) ]]; then
        die "postgres: $data exists, is not empty and is not a PostgreSQL cluster; remove it"
    fi
    mkdir -p "$data"
    chmod 700 "$data"
    pg_chown "$data"
    log "postgres: initdb $data ($("$PG_BINDIR/postgres" --version))"
    pg_as "$PG_BINDIR/initdb" -D "$data" -U "$LICHENG_PG_SUPERUSER" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-instructions >>"$(log_file postgres)" 2>&1 ||
        {
            log_tail "$(log_file postgres)"
            die "postgres: initdb failed"
        }
    printf "\n# Licheng infra settings (deploy/infra/postgres.sh)\ninclude_if_exists = 'licheng.conf'\n" \
        >>"$data/postgresql.conf"
}

# Superuser psql over the unix socket, reading SQL from stdin.
pg_psql_admin() {
    pg_as "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$LICHENG_PG_PORT" \
        -U "$LICHENG_PG_SUPERUSER" -d postgres "$@"
}

# Idempotent: login role with CREATEDB + one database per service, owned by it.
pg_provision() {
    local db
    {
        cat <<'EOF'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'pw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'u', :'pw') \gexec
EOF
        for db in $LICHENG_PG_DATABASES; do
            printf '\\set db %s\n' "$db"
            cat <<'EOF'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'u')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'u') \gexec
EOF
        done
    } | pg_psql_admin -v u="$LICHENG_PG_USER" -v pw="$LICHENG_PG_PASSWORD" >/dev/null ||
        die "postgres: provisioning role/databases failed"
    # prove the path the services use: TCP + password
    local first=${LICHENG_PG_DATABASES%% *}
    PGPASSWORD=$LICHENG_PG_PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BINDIR/psql" -X -qAt \
        -h 127.0.0.1 -p "$LICHENG_PG_PORT" -U "$LICHENG_PG_USER" -d "$first" -c 'select 1' >/dev/null ||
        die "postgres: password login as $LICHENG_PG_USER to $first over TCP failed"
}

pg_stop_cluster() {
    local pid=$1 data
    data=$(pg_data)
    if ! pg_as "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w -t "$LICHENG_STOP_TIMEOUT" -s stop; then
        warn "postgres: pg_ctl stop -m fast did not finish in ${LICHENG_STOP_TIMEOUT}s"
        stop_pid postgres "$pid" 10
    fi
}

postgres_up() {
    local pid data logf sockdir t0 rc=0
    PG_BINDIR=$(pg_bindir)
    data=$(pg_data)
    logf=$(log_file postgres)
    sockdir=$(pg_sockdir)
    if pid=$(pg_running_pid); then
        if wait_until "$LICHENG_PG_START_TIMEOUT" "$pid" "postgres readiness" pg_ready; then
            pg_provision
            log "postgres: already running (pid $pid) on 127.0.0.1:$LICHENG_PG_PORT"
            return 0
        fi
        log_tail "$logf"
        die "postgres: pid $pid is running but not accepting connections; try: deploy/infra/infra.sh down postgres"
    fi
    require_ports_free postgres 127.0.0.1 "$LICHENG_PG_PORT"
    t0=$(now_s)
    mkdir -p "$(comp_dir postgres)" "$sockdir"
    touch "$logf"
    pg_chown "$sockdir" "$logf"
    pg_make_traversable "$(comp_dir postgres)"
    pg_make_traversable "$(dirname "$logf")"
    pg_make_traversable "$sockdir"
    [[ -s $data/PG_VERSION ]] || pg_initdb "$data"
    pg_write_conf "$data" "$sockdir"
    printf '\n==== %s infra.sh: starting postgres ====\n' "$(date -Is)" >>"$logf"
    # 9>&-: the postmaster must not inherit infra.sh's lock fd
    pg_as "$PG_BINDIR/pg_ctl" -D "$data" -l "$logf" -w -t "$LICHENG_PG_START_TIMEOUT" -s start 9>&- || rc=$?
    if ((rc != 0)); then
        log_tail "$logf"
        die "postgres: pg_ctl start failed (log: $logf)"
    fi
    pid=$(pg_running_pid) || die "postgres: started but no postmaster.pid in $data"
    wait_until "$LICHENG_PG_START_TIMEOUT" "$pid" "postgres readiness" pg_ready || die "postgres: not ready"
    pg_provision
    log "postgres: started on 127.0.0.1:$LICHENG_PG_PORT (PostgreSQL $(<"$data/PG_VERSION"), pid $pid, \
$(($(now_s) - t0))s, role $LICHENG_PG_USER, databases: $LICHENG_PG_DATABASES; data: $data, log: $logf)"
}

postgres_status() {
    local pid
    PG_BINDIR=$(pg_find_bindir) || {
        log "postgres: stopped (server binaries not installed) 127.0.0.1:$LICHENG_PG_PORT"
        return 1
    }
    if pid=$(pg_running_pid) && pg_ready; then
        log "postgres: running (pid $pid) $(pg_url)  databases: $LICHENG_PG_DATABASES"
        return 0
    fi
    if [[ -n ${pid:-} ]]; then
        log "postgres: UNHEALTHY (pid $pid) 127.0.0.1:$LICHENG_PG_PORT"
    else
        log "postgres: stopped 127.0.0.1:$LICHENG_PG_PORT"
    fi
    return 1
}

postgres_down() {
    local pid
    if PG_BINDIR=$(pg_find_bindir) && pid=$(pg_running_pid); then
        log "postgres: stopping pid $pid (pg_ctl stop -m fast)"
        pg_stop_cluster "$pid"
        log "postgres: stopped"
    else
        log "postgres: not running"
    fi
    rm -f "$(pid_file postgres)"
}

postgres_env() {
    env_line LICHENG_TEST_PG_HOST 127.0.0.1
    env_line LICHENG_TEST_PG_PORT "$LICHENG_PG_PORT"
    env_line LICHENG_TEST_PG_USER "$LICHENG_PG_USER"
    env_line LICHENG_TEST_PG_PASSWORD "$LICHENG_PG_PASSWORD"
    env_line LICHENG_TEST_PG_DATABASES "$(printf '%s' "$LICHENG_PG_DATABASES" | tr -s ' ' ',')"
}
