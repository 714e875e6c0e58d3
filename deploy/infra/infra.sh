#!/usr/bin/env bash
# Local infrastructure for Licheng development and tests: PostgreSQL, NATS (JetStream),
# S3 (SeaweedFS) and Keycloak, as plain processes (no containers).
#
#   deploy/infra/infra.sh up|status|down|env [postgres|nats|s3|keycloak ...]
#
# No component list = all four. See deploy/infra/README.md for ports and variables.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: deploy/infra/infra.sh up|status|down|env [postgres|nats|s3|keycloak ...]

  up      start the components (no-op for those already running and healthy), then
          write $LICHENG_INFRA_DIR/infra.env
  status  one line per component; exit status 1 if any requested component is down
  down    stop the components (SIGTERM, then SIGKILL after $LICHENG_STOP_TIMEOUT s)
  env     print the export lines of infra.env

State, logs and pid files live under $LICHENG_INFRA_DIR (default <repo>/var/infra/test).
EOF
}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/infra/common.sh
source "$HERE/common.sh"
# shellcheck source=deploy/infra/postgres.sh
source "$HERE/postgres.sh"
# shellcheck source=deploy/infra/nats.sh
source "$HERE/nats.sh"
# shellcheck source=deploy/infra/seaweedfs.sh
source "$HERE/seaweedfs.sh"
# shellcheck source=deploy/infra/keycloak.sh
source "$HERE/keycloak.sh"

ALL_COMPONENTS=(postgres nats s3 keycloak)

write_env_file() {
    local f tmp c
    f=$LICHENG_INFRA_DIR/infra.env
    tmp=$(mktemp "$f.XXXXXX")
    {
        printf '# Written by deploy/infra/infra.sh up (%s). Source it: . %s\n' "$(date -Is)" "$f"
        env_line LICHENG_INFRA_DIR "$LICHENG_INFRA_DIR"
        for c in "${ALL_COMPONENTS[@]}"; do
            "${c}_env"
        done
    } >"$tmp"
    chmod 644 "$tmp"
    mv "$tmp" "$f"
    log "wrote $f"
}

main() {
    local action=${1:-} comps=() c failed=0 t0
    [[ -n $action ]] || {
        usage >&2
        exit 2
    }
    shift
    case $action in
    -h | --help | help)
        usage
        exit 0
        ;;
    up | status | down | env) ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    if (($# == 0)); then
        comps=("${ALL_COMPONENTS[@]}")
    else
        for c in "$@"; do
            case $c in
            postgres | nats | s3 | keycloak) comps+=("$c") ;;
            pg | postgresql) comps+=(postgres) ;;
            seaweedfs | weed) comps+=(s3) ;;
            *) die "unknown component '$c' (expected: postgres nats s3 keycloak)" ;;
            esac
        done
    fi

    if [[ $action == env ]]; then
        for c in "${comps[@]}"; do "${c}_env"; done
        return 0
    fi

    ensure_base_dirs
    # One infra.sh at a time per profile (fd 9; closed for every daemon we start).
    exec 9>"$LICHENG_INFRA_DIR/run/.infra.sh.lock"
    if ! flock -n 9; then
        log "another infra.sh is running for $LICHENG_INFRA_DIR; waiting for it (up to ${LICHENG_LOCK_TIMEOUT:-600}s)"
        flock -w "${LICHENG_LOCK_TIMEOUT:-600}" 9 || die "could not lock $LICHENG_INFRA_DIR/run/.infra.sh.lock"
    fi

    case $action in
    up)
        t0=$(now_s)
        log "up: ${comps[*]} (profile dir $LICHENG_INFRA_DIR)"
        for c in "${comps[@]}"; do
            "${c}_up"
        done
        write_env_file
        log "up: done in $(($(now_s) - t0))s"
        ;;
    status)
        for c in "${comps[@]}"; do
            "${c}_status" || failed=1
        done
        return "$failed"
        ;;
    down)
        # reverse order
        for ((i = ${#comps[@]} - 1; i >= 0; i--)); do
            "${comps[i]}_down"
        done
        ;;
    esac
}

main "$@"
