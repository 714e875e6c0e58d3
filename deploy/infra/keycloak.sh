# shellcheck shell=bash
# Keycloak (dev mode, H2 file DB) with the realm deploy/keycloak/licheng-realm.json.
#
# Distribution: Maven artifact org.keycloak:keycloak-quarkus-dist:<version>:zip, fetched with
# `mvn dependency:copy`, cached (zip + unzipped tree) in ${XDG_CACHE_HOME:-~/.cache}/licheng/.
# The cached tree is shared read-only; each profile gets its own Keycloak "home" at
# $LICHENG_INFRA_DIR/keycloak (copies of bin/ conf/ lib/quarkus/ — the part start-dev rebuilds —
# and symlinks to the big jar directories), so its state is $LICHENG_INFRA_DIR/keycloak/data.

: "${LICHENG_KEYCLOAK_VERSION:=26.5.6}"
: "${LICHENG_KEYCLOAK_PORT:=18080}"
: "${LICHENG_KEYCLOAK_MGMT_PORT:=19000}"   # management interface: /health, /metrics
: "${LICHENG_KEYCLOAK_REALM:=licheng}"
: "${LICHENG_KEYCLOAK_REALM_FILE:=$REPO_ROOT/deploy/keycloak/licheng-realm.json}"
# Test users and a password-grant client, added to the staged realm (development/test only;
# empty: import the production realm as it is).
: "${LICHENG_KEYCLOAK_DEV_OVERLAY=$REPO_ROOT/deploy/keycloak/development-overlay.json}"
: "${LICHENG_KEYCLOAK_ADMIN_USER:=admin}"          # bootstrap admin of the master realm (dev only)
: "${LICHENG_KEYCLOAK_ADMIN_PASSWORD:=admin}"
: "${LICHENG_KEYCLOAK_HEAP:=768m}"                 # -Xmx of the Keycloak JVM
: "${LICHENG_KEYCLOAK_START_TIMEOUT:=300}"
: "${LICHENG_KEYCLOAK_RESET:=0}"                   # 1: drop the dev DB and re-import the realm
: "${LICHENG_CACHE_DIR:=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/licheng}"
# LICHENG_KEYCLOAK_JAVA_HOME: force a JDK; LICHENG_MVN_ARGS: extra args for mvn (e.g. a
# -Dmaven.repo.local=...).

kc_url() { printf 'http://127.0.0.1:%s' "$LICHENG_KEYCLOAK_PORT"; }
kc_issuer() { printf '%s/realms/%s' "$(kc_url)" "$LICHENG_KEYCLOAK_REALM"; }
kc_home() { comp_dir keycloak; }
# matches the Keycloak JVM (not the kc.sh wrapper): -Dkc.home.dir=<home>/bin/..
kc_pattern() { printf 'kc.home.dir=%s/bin/' "$(kc_home)"; }

kc_healthy() {
    [[ $(http_code "http://127.0.0.1:$LICHENG_KEYCLOAK_MGMT_PORT/health/ready") == 200 ]] &&
        [[ $(http_code "$(kc_issuer)/.well-known/openid-configuration") == 200 ]]
}

# ---------------------------------------------------------------- distribution (cached)
# Sets KC_DIST to the unzipped distribution, downloading/unzipping only when not cached.
kc_ensure_dist() {
    local ver=$LICHENG_KEYCLOAK_VERSION cache=$LICHENG_CACHE_DIR zip tmp t0 mvn_args=()
    KC_DIST=$cache/keycloak-$ver
    if [[ -f $KC_DIST/.licheng-complete && -x $KC_DIST/bin/kc.sh ]]; then
        log "keycloak: using cached distribution $KC_DIST"
        return 0
    fi
    mkdir -p "$cache"
    zip=$cache/keycloak-quarkus-dist-$ver.zip
    if [[ ! -s $zip ]]; then
        command -v mvn >/dev/null 2>&1 || apt_install maven
        command -v unzip >/dev/null 2>&1 || apt_install unzip
        if [[ -n ${LICHENG_MVN_ARGS:-} ]]; then
            read -r -a mvn_args <<<"$LICHENG_MVN_ARGS"
        fi
        tmp=$(mktemp -d "$cache/.mvn.XXXXXX")
        t0=$(now_s)
        log "keycloak: fetching org.keycloak:keycloak-quarkus-dist:$ver:zip with Maven"
        # full Maven output goes to the Keycloak log; shown on failure
        if ! mvn -B -ntp -Dstyle.color=never "${mvn_args[@]}" dependency:copy \
            "-Dartifact=org.keycloak:keycloak-quarkus-dist:$ver:zip" "-DoutputDirectory=$tmp" \
            >>"$(log_file keycloak)" 2>&1; then
            rm -rf "$tmp"
            log_tail "$(log_file keycloak)" 30
            die "keycloak: mvn dependency:copy of keycloak-quarkus-dist:$ver failed"
        fi
        mv "$tmp/keycloak-quarkus-dist-$ver.zip" "$zip"
        rm -rf "$tmp"
        log "keycloak: cached $zip ($(du -h "$zip" | cut -f1), $(($(now_s) - t0))s)"
    fi
    command -v unzip >/dev/null 2>&1 || apt_install unzip
    tmp=$(mktemp -d "$cache/.unzip.XXXXXX")
    log "keycloak: unzipping $zip"
    unzip -q "$zip" -d "$tmp" || {
        rm -rf "$tmp"
        die "keycloak: unzip $zip failed (delete it to re-download)"
    }
    [[ -x $tmp/keycloak-$ver/bin/kc.sh ]] || die "keycloak: unexpected layout in $zip"
    rm -rf "$KC_DIST"
    mv "$tmp/keycloak-$ver" "$KC_DIST"
    rm -rf "$tmp"
    touch "$KC_DIST/.licheng-complete"
}

# Per-profile Keycloak home: small writable copies + symlinks into the cached distribution.
kc_prepare_home() {
    local home marker f
    home=$(kc_home)
    marker=$home/.licheng-dist
    if [[ ! -f $marker || $(<"$marker") != "$KC_DIST" || ! -x $home/bin/kc.sh ]]; then
        log "keycloak: preparing home $home from $KC_DIST"
        rm -rf "${home:?}/bin" "${home:?}/conf" "${home:?}/lib" "${home:?}/themes" "${home:?}/providers"
        mkdir -p "$home/bin" "$home/lib"
        for f in "$KC_DIST"/bin/*.sh; do cp -p "$f" "$home/bin/"; done
        ln -s "$KC_DIST/bin/client" "$home/bin/client"
        cp -rp "$KC_DIST/conf" "$KC_DIST/themes" "$KC_DIST/providers" "$home/"
        ln -s "$KC_DIST/lib/app" "$home/lib/app"
        ln -s "$KC_DIST/lib/lib" "$home/lib/lib"
        cp -p "$KC_DIST/lib/quarkus-run.jar" "$home/lib/"
        cp -rp "$KC_DIST/lib/quarkus" "$home/lib/"
        printf '%s\n' "$KC_DIST" >"$marker"
    fi
    mkdir -p "$home/data/import"
}

# The realm as Keycloak imports it (the realm file composed with the development overlay).
kc_compose_realm() {
    [[ -f $LICHENG_KEYCLOAK_REALM_FILE ]] || die "keycloak: realm file $LICHENG_KEYCLOAK_REALM_FILE not found"
    python3 "$REPO_ROOT/deploy/keycloak/compose_realm.py" "$LICHENG_KEYCLOAK_REALM_FILE" \
        "$LICHENG_KEYCLOAK_DEV_OVERLAY" >"$1" || die "keycloak: could not compose the realm"
}

kc_imported_sum() {
    local file
    file="$(data_dir keycloak)/.licheng-realm.sha256"
    if [[ -f $file ]]; then cat "$file"; fi
}

# Is the running Keycloak's realm the one the realm file and overlay compose to now?
kc_realm_current() {
    local staged sum
    staged=$(mktemp)
    kc_compose_realm "$staged"
    sum=$(sha256sum "$staged" | cut -d' ' -f1)
    rm -f "$staged"
    [[ $sum == "$(kc_imported_sum)" ]]
}

# Copy the realm into data/import. --import-realm skips realms that already exist, so when the
# composed realm changed since the last import (or LICHENG_KEYCLOAK_RESET=1) drop the dev DB.
kc_stage_realm() {
    local data sum staged old
    data=$(data_dir keycloak)
    staged=$(mktemp)
    kc_compose_realm "$staged"
    sum=$(sha256sum "$staged" | cut -d' ' -f1)
    old=$(kc_imported_sum)
    if [[ -d $data/h2 ]]; then
        if [[ $LICHENG_KEYCLOAK_RESET == 1 ]]; then
            log "keycloak: LICHENG_KEYCLOAK_RESET=1: dropping dev database $data/h2"
            rm -rf "$data/h2"
        elif [[ $sum != "$old" ]]; then
            log "keycloak: realm file changed since last import: dropping dev database $data/h2 to re-import"
            rm -rf "$data/h2"
        fi
    fi
    rm -f "$data"/import/*.json
    mv "$staged" "$data/import/$LICHENG_KEYCLOAK_REALM-realm.json"
    printf '%s\n' "$sum" >"$data/.licheng-realm.sha256"
}

# ---------------------------------------------------------------- JDK
java_major() {
    local jh=$1 v=""
    if [[ -f $jh/release ]]; then
        v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$jh/release")
    fi
    if [[ -z $v ]]; then
        v=$("$jh/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
    fi
    v=${v#1.}
    printf '%s\n' "${v%%[.+-]*}"
}

# JDK candidates, best first: LICHENG_KEYCLOAK_JAVA_HOME; else every /usr/lib/jvm/* JDK >= 21
# (highest first), then >= 17 as a last resort; else the `java` on PATH.
kc_java_candidates() {
    local d real major
    if [[ -n ${LICHENG_KEYCLOAK_JAVA_HOME:-} ]]; then
        printf '%s\n' "$LICHENG_KEYCLOAK_JAVA_HOME"
        return 0
    fi
    {
        for d in /usr/lib/jvm/*; do
            [[ -x $d/bin/java ]] || continue
            real=$(readlink -f "$d")
            major=$(java_major "$real")
            [[ $major =~ ^[0-9]+$ ]] || continue
            if ((major >= 21)); then
                printf '%s 1 %s\n' "$major" "$real"
            elif ((major >= 17)); then
                printf '%s 0 %s\n' "$major" "$real"
            fi
        done
        if d=$(command -v java 2>/dev/null); then
            real=$(dirname "$(dirname "$(readlink -f "$d")")")
            major=$(java_major "$real")
            [[ $major =~ ^[0-9]+$ ]] && ((major >= 17)) && printf '%s 0 %s\n' "$major" "$real"
        fi
    } | sort -k3,3 -u | sort -k2,2nr -k1,1nr | cut -d' ' -f3-
}

# ---------------------------------------------------------------- lifecycle
# Returns 0 when ready, 2 when the JVM died during startup, 1 on timeout.
kc_start_with() {
    local jh=$1 home logf major opens="" pid rc=0
    home=$(kc_home)
    logf=$(log_file keycloak)
    major=$(java_major "$jh")
    # Java >= 24: jboss-threads needs java.lang opened (otherwise errors on executor threads)
    if [[ $major =~ ^[0-9]+$ ]] && ((major >= 24)); then
        opens="--add-opens=java.base/java.lang=ALL-UNNAMED"
    fi
    log "keycloak: starting Keycloak $LICHENG_KEYCLOAK_VERSION with JDK $major ($jh), heap -Xmx$LICHENG_KEYCLOAK_HEAP"
    printf '\n==== %s infra.sh: starting keycloak (JDK %s: %s) ====\n' "$(date -Is)" "$major" "$jh" >>"$logf"
    pid=$(spawn "$logf" env -u JAVA_OPTS -u JAVA_ADD_OPENS \
        JAVA_HOME="$jh" \
        JAVA_OPTS_KC_HEAP="-Xms64m -Xmx$LICHENG_KEYCLOAK_HEAP" \
        JAVA_OPTS_APPEND="$opens" \
        KC_BOOTSTRAP_ADMIN_USERNAME="$LICHENG_KEYCLOAK_ADMIN_USER" \
        KC_BOOTSTRAP_ADMIN_PASSWORD="$LICHENG_KEYCLOAK_ADMIN_PASSWORD" \
        "$home/bin/kc.sh" start-dev \
        --http-host=127.0.0.1 \
        --http-port="$LICHENG_KEYCLOAK_PORT" \
        --http-management-port="$LICHENG_KEYCLOAK_MGMT_PORT" \
        --hostname="$(kc_url)" \
        --health-enabled=true \
        --import-realm)
    write_pid keycloak "$pid"
    wait_until "$LICHENG_KEYCLOAK_START_TIMEOUT" "$pid" \
        "keycloak readiness ($(kc_issuer)/.well-known/openid-configuration)" kc_healthy || rc=$?
    KC_PID=$pid
    if ((rc == 0)); then
        # record the JVM rather than the kc.sh wrapper (which may have exec'd into it or not)
        KC_PID=$(find_pid_by_cmdline "$(kc_pattern)" java) || KC_PID=$pid
        write_pid keycloak "$KC_PID"
    fi
    KC_JAVA_MAJOR=$major
    return "$rc"
}

keycloak_up() {
    local pid logf t0 jh rc tried=0
    logf=$(log_file keycloak)
    # A running Keycloak keeps the realm it imported: when the realm file or the development
    # overlay changed since, stop it so the start below re-imports (kc_stage_realm drops the DB).
    if pid=$(running_pid keycloak "$(kc_pattern)" java) && ! kc_realm_current; then
        log "keycloak: the composed realm changed since pid $pid imported it: restarting to re-import"
        stop_pid keycloak "$pid"
        rm -f "$(pid_file keycloak)"
    fi
    if pid=$(running_pid keycloak "$(kc_pattern)" java); then
        if wait_until "$LICHENG_KEYCLOAK_START_TIMEOUT" "$pid" "keycloak readiness" kc_healthy; then
            log "keycloak: already running (pid $pid) on $(kc_url), issuer $(kc_issuer)"
            return 0
        fi
        log_tail "$logf"
        die "keycloak: pid $pid is running but not ready; try: deploy/infra/infra.sh down keycloak"
    fi
    require_ports_free keycloak 127.0.0.1 "$LICHENG_KEYCLOAK_PORT" "$LICHENG_KEYCLOAK_MGMT_PORT"
    t0=$(now_s)
    kc_ensure_dist
    kc_prepare_home
    kc_stage_realm
    while IFS= read -r jh; do
        [[ -n $jh ]] || continue
        tried=$((tried + 1))
        rc=0
        kc_start_with "$jh" || rc=$?
        if ((rc == 0)); then
            log "keycloak: started on $(kc_url) (Keycloak $LICHENG_KEYCLOAK_VERSION, JDK $KC_JAVA_MAJOR, pid $KC_PID, \
$(($(now_s) - t0))s; issuer $(kc_issuer); management http://127.0.0.1:$LICHENG_KEYCLOAK_MGMT_PORT; \
admin console $(kc_url)/admin/ ($LICHENG_KEYCLOAK_ADMIN_USER/$LICHENG_KEYCLOAK_ADMIN_PASSWORD); \
data: $(data_dir keycloak), log: $logf)"
            return 0
        fi
        log_tail "$logf" 60
        pid_alive "$KC_PID" && stop_pid keycloak "$KC_PID" 15
        rm -f "$(pid_file keycloak)"
        if ((rc == 1)); then
            die "keycloak: not ready after ${LICHENG_KEYCLOAK_START_TIMEOUT}s (log: $logf)"
        fi
        warn "keycloak: the JVM exited during startup with JDK $jh; trying the next JDK if any"
    done < <(kc_java_candidates)
    ((tried > 0)) || die "keycloak: no JDK >= 17 found (looked in /usr/lib/jvm and PATH); \
install one (e.g. apt-get install openjdk-17-jdk-headless) or set LICHENG_KEYCLOAK_JAVA_HOME"
    die "keycloak: failed to start with every JDK tried (log: $logf)"
}

keycloak_status() {
    local pid
    if pid=$(running_pid keycloak "$(kc_pattern)" java) && kc_healthy; then
        log "keycloak: running (pid $pid) $(kc_url)  issuer $(kc_issuer)  management http://127.0.0.1:$LICHENG_KEYCLOAK_MGMT_PORT"
        return 0
    fi
    if [[ -n ${pid:-} ]]; then
        log "keycloak: UNHEALTHY (pid $pid) $(kc_url)"
    else
        log "keycloak: stopped $(kc_url)"
    fi
    return 1
}

keycloak_down() {
    local pid
    if pid=$(running_pid keycloak "$(kc_pattern)" java); then
        log "keycloak: stopping pid $pid"
        stop_pid keycloak "$pid"
        log "keycloak: stopped"
    else
        log "keycloak: not running"
    fi
    rm -f "$(pid_file keycloak)"
}

keycloak_env() {
    env_line LICHENG_TEST_KEYCLOAK_URL "$(kc_url)"
    env_line LICHENG_TEST_KEYCLOAK_REALM "$LICHENG_KEYCLOAK_REALM"
    env_line LICHENG_TEST_KEYCLOAK_ISSUER "$(kc_issuer)"
    env_line LICHENG_TEST_KEYCLOAK_ADMIN_USER "$LICHENG_KEYCLOAK_ADMIN_USER"
    env_line LICHENG_TEST_KEYCLOAK_ADMIN_PASSWORD "$LICHENG_KEYCLOAK_ADMIN_PASSWORD"
}
