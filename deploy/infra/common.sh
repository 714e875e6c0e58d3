# shellcheck shell=bash
# Shared helpers for deploy/infra/*.sh. Sourced by infra.sh; not executable on its own.
#
# Conventions for every component <c> (postgres, nats, s3, keycloak):
#   state      $LICHENG_INFRA_DIR/<c>/data
#   log        $LICHENG_INFRA_DIR/log/<c>.log
#   pid file   $LICHENG_INFRA_DIR/run/<c>.pid
# and functions <c>_up, <c>_status, <c>_down, <c>_env defined in the component file.

# ---------------------------------------------------------------- configuration
INFRA_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_SCRIPT_DIR/../.." && pwd)"

: "${LICHENG_INFRA_DIR:=$REPO_ROOT/var/infra/test}"
: "${LICHENG_BIN_DIR:=$REPO_ROOT/.venv/bin}"
: "${LICHENG_STOP_TIMEOUT:=30}"   # seconds between SIGTERM and SIGKILL on `down`
export LICHENG_INFRA_DIR LICHENG_BIN_DIR

# ---------------------------------------------------------------- logging
log() { printf '[infra] %s\n' "$*"; }
warn() { printf '[infra] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[infra] ERROR: %s\n' "$*" >&2
    exit 1
}

# Print the last lines of a log file, indented, to stderr (used when something fails).
log_tail() {
    local file=$1 lines=${2:-40}
    if [[ -s $file ]]; then
        printf '[infra] ---- last %s lines of %s ----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" | sed 's/^/[infra] | /' >&2
        printf '[infra] ---- end of %s ----\n' "$file" >&2
    fi
}

now_s() { date +%s; }

# ---------------------------------------------------------------- paths
comp_dir() { printf '%s/%s' "$LICHENG_INFRA_DIR" "$1"; }
data_dir() { printf '%s/%s/data' "$LICHENG_INFRA_DIR" "$1"; }
log_file() { printf '%s/log/%s.log' "$LICHENG_INFRA_DIR" "$1"; }
pid_file() { printf '%s/run/%s.pid' "$LICHENG_INFRA_DIR" "$1"; }

ensure_base_dirs() {
    mkdir -p "$LICHENG_INFRA_DIR/log" "$LICHENG_INFRA_DIR/run"
}

# Resolve a program: $LICHENG_BIN_DIR/<name> first, then PATH. Prints the absolute path.
find_bin() {
    local name=$1 p
    if [[ -x $LICHENG_BIN_DIR/$name ]]; then
        printf '%s\n' "$LICHENG_BIN_DIR/$name"
        return 0
    fi
    if p=$(command -v "$name" 2>/dev/null) && [[ -n $p ]]; then
        printf '%s\n' "$(readlink -f "$p")"
        return 0
    fi
    return 1
}

# Print `export NAME=value` (shell-quoted only when the value needs it).
env_line() {
    local name=$1 value=$2
    if [[ $value =~ ^[A-Za-z0-9_./:,@%+=-]*$ ]]; then
        printf 'export %s=%s\n' "$name" "$value"
    else
        printf 'export %s=%q\n' "$name" "$value"
    fi
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# apt-get install, running `apt-get update` only when the first try fails.
apt_install() {
    is_root || die "need root to apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    log "apt-get install -y $*"
    if ! apt-get install -y -q --no-install-recommends "$@"; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "$@"
    fi
}

# ---------------------------------------------------------------- processes / pid files
pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Is <pid> alive, with <pattern> in its command line and (if given) executable named <exe>?
# (guards against pid reuse and against matching unrelated processes)
pid_matches() {
    local pid=$1 pattern=$2 exe=${3:-} cmdline
    pid_alive "$pid" || return 1
    [[ -r /proc/$pid/cmdline ]] || return 0
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$pattern"* ]] || return 1
    [[ -z $exe ]] || [[ $(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)") == "$exe" ]]
}

# First process (other than ourselves) matching <pattern>/<exe>, e.g. a server whose pid file
# was lost or whose launcher wrapper died.
find_pid_by_cmdline() {
    local pattern=$1 exe=$2 p pid
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        if pid_matches "$pid" "$pattern" "$exe"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

# running_pid <comp> <pattern> <exe>
# Print the pid of <comp>'s server if it runs: the pid file's process if it still matches,
# else a matching process found in /proc (adopted: the pid file is rewritten). A stale pid file
# (after a crash / reboot) is removed. Returns 1 when nothing runs.
running_pid() {
    local comp=$1 pattern=$2 exe=$3 pf pid
    pf=$(pid_file "$comp")
    if [[ -f $pf ]]; then
        pid=$(head -n1 "$pf" 2>/dev/null | tr -dc '0-9')
        if [[ -n $pid ]] && pid_matches "$pid" "$pattern"; then
            printf '%s\n' "$pid"
            return 0
        fi
    fi
    if pid=$(find_pid_by_cmdline "$pattern" "$exe"); then
        log "$comp: found running $exe process $pid without a valid pid file; adopting it" >&2
        printf '%s\n' "$pid" >"$pf"
        printf '%s\n' "$pid"
        return 0
    fi
    if [[ -f $pf ]]; then
        log "$comp: removing stale pid file $pf (its process is not running)" >&2
        rm -f "$pf"
    fi
    return 1
}

write_pid() { printf '%s\n' "$2" >"$(pid_file "$1")"; }

# Start a command detached in its own session (so `down` can signal the whole process
# group), stdout+stderr appended to <logfile>. Prints the pid (== process group id).
# Usage: spawn <logfile> <cmd> [args...]   (extra environment: use `env VAR=x cmd ...`)
spawn() {
    local logf=$1
    shift
    # Without job control `&` children are not group leaders, so setsid(1) calls setsid()
    # in-process (no fork) and $! is the real pid of the command.
    # fd 9 is infra.sh's lock: daemons must not inherit it.
    setsid "$@" >>"$logf" 2>&1 </dev/null 9>&- &
    printf '%s\n' "$!"
}

# Signal target for <pid>: "-<pgid>" (the whole process group) when the process runs in a
# group of its own (everything we spawn does, via setsid), else "<pid>". Computed once before
# signalling, since the group leader may be gone afterwards.
signal_target() {
    local pid=$1 pgid mypgid
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || true
    mypgid=$(ps -o pgid= -p "$$" 2>/dev/null | tr -d ' ') || true
    if [[ -n $pgid && $pgid != 0 && $pgid != 1 && $pgid != "$mypgid" ]]; then
        printf -- '-%s\n' "$pgid"
    else
        printf '%s\n' "$pid"
    fi
}

# Wait until <pid> has exited, up to <timeout> seconds. Returns 1 on timeout.
wait_pid_exit() {
    local pid=$1 timeout=$2 deadline
    deadline=$(($(now_s) + timeout))
    while pid_alive "$pid"; do
        # a zombie child of ours counts as exited
        [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && return 0
        (($(now_s) >= deadline)) && return 1
        sleep 0.2
    done
    return 0
}

# SIGTERM the process (group), wait up to <timeout>, then SIGKILL whatever is left.
stop_pid() {
    local comp=$1 pid=$2 timeout=${3:-$LICHENG_STOP_TIMEOUT} target
    target=$(signal_target "$pid")
    kill -TERM -- "$target" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$timeout"; then
        warn "$comp: pid $pid still alive ${timeout}s after SIGTERM; sending SIGKILL"
    fi
    # leftovers of the group (or the process itself after a timeout)
    kill -KILL -- "$target" 2>/dev/null || true
    wait_pid_exit "$pid" 10 || warn "$comp: pid $pid survived SIGKILL"
}

# ---------------------------------------------------------------- network probes
# Is something accepting TCP connections on host:port?
port_open() {
    local host=$1 port=$2
    # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# Describe who listens on a TCP port (best effort, for error messages).
port_owner() {
    ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n3 | tr '\n' ' '
}

# Fail if any of the given ports is already taken (we are about to start something there).
require_ports_free() {
    local comp=$1 host=$2 port
    shift 2
    for port in "$@"; do
        if port_open "$host" "$port"; then
            die "$comp: port $host:$port is already in use by another process ($(port_owner "$port")); \
stop it or choose other ports (see deploy/infra/README.md)"
        fi
    done
}

# HTTP status of a GET (000 when nothing answers). Extra curl args may follow the URL.
http_code() {
    local url=$1
    shift
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# wait_until <timeout-s> <pid-or-empty> <description> <command...>
# Polls <command> every 0.5 s until it succeeds. Fails early if <pid> dies, or on timeout.
wait_until() {
    local timeout=$1 pid=$2 what=$3 deadline
    shift 3
    deadline=$(($(now_s) + timeout))
    until "$@"; do
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            warn "process $pid exited while waiting for $what"
            return 2
        fi
        if (($(now_s) >= deadline)); then
            warn "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

wait_for_port() { wait_until "$3" "${4:-}" "$1:$2 to accept connections" port_open "$1" "$2"; }

_url_ok() { [[ $(http_code "$1") == 200 ]]; }
wait_for_url() { wait_until "$2" "${3:-}" "$1 to answer 200" _url_ok "$1"; }
