#!/usr/bin/env python3
"""End-to-end smoke check of the infra started by deploy/infra/infra.sh (stdlib only).

    . var/infra/test/infra.env && python3 deploy/infra/smoke.py [postgres nats s3 keycloak]

Reads the LICHENG_TEST_* variables (defaults = test profile). Uses `psql` for PostgreSQL
and `curl --aws-sigv4` for S3. Exits 1 if any check fails.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from email.message import Message
from typing import Any

E = os.environ.get
PG_HOST, PG_PORT = E("LICHENG_TEST_PG_HOST", "127.0.0.1"), E("LICHENG_TEST_PG_PORT", "55432")
PG_USER, PG_PASSWORD = (
    E("LICHENG_TEST_PG_USER", "licheng"),
    E("LICHENG_TEST_PG_PASSWORD", "licheng"),
)
PG_DATABASES = E(
    "LICHENG_TEST_PG_DATABASES", "identity,course_outcomes,performances,guidance,exports"
).split(",")
NATS_URL = E("LICHENG_TEST_NATS_URL", "nats://127.0.0.1:14222")
NATS_MONITOR = E("LICHENG_TEST_NATS_MONITOR_URL", "http://127.0.0.1:18222")
S3_ENDPOINT = E("LICHENG_TEST_S3_ENDPOINT", "127.0.0.1:18333")
S3_AK, S3_SK = (
    E("LICHENG_TEST_S3_ACCESS_KEY", "licheng"),
    E("LICHENG_TEST_S3_SECRET_KEY", "licheng-dev-secret"),
)
S3_REGION = E("LICHENG_TEST_S3_REGION", "us-east-1")
S3_BUCKETS = E("LICHENG_TEST_S3_BUCKETS", "licheng-uploads,licheng-exports").split(",")
KC = E("LICHENG_TEST_KEYCLOAK_URL", "http://127.0.0.1:18080")
REALM = E("LICHENG_TEST_KEYCLOAK_REALM", "licheng")

# dev-only credentials of deploy/keycloak/licheng-realm.json
TEST_PASSWORD = "test-password"  # noqa: S105
EXPORTS_SECRET = "exports-dev-secret"  # noqa: S105
IDENTITY_SECRET = "identity-dev-secret"  # noqa: S105

results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    results.append((name, ok, detail))
    print(
        f"[smoke] {'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}", flush=True
    )
    return ok


def run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60
    )


Json = dict[str, Any]


def http(
    method: str,
    url: str,
    token: str | None = None,
    body: Json | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, Any, Message]:
    headers, data = {}, None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
    assert url.startswith("http://")
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        return e.code, None, e.headers


def jwt_parts(token: str) -> tuple[Json, Json]:
    def dec(s: str) -> Json:
        out: Json = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return out

    h, p, _ = token.split(".")
    return dec(h), dec(p)


def aud_list(payload: Json) -> list[str]:
    aud = payload.get("aud", [])
    return [aud] if isinstance(aud, str) else list(aud)


# ------------------------------------------------------------------ postgres
def smoke_postgres() -> None:
    psql = shutil.which("psql")
    if psql is None:
        check("postgres: psql available", False)
        return
    env = {"PGPASSWORD": PG_PASSWORD, "PGCONNECT_TIMEOUT": "5"}
    for db in PG_DATABASES:
        r = run(
            [
                psql,
                "-X",
                "-qAt",
                "-h",
                PG_HOST,
                "-p",
                PG_PORT,
                "-U",
                PG_USER,
                "-d",
                db,
                "-c",
                "select 1",
            ],
            env,
        )
        check(
            f"postgres: login {PG_USER}@{db}",
            r.returncode == 0 and r.stdout.strip() == "1",
            r.stderr.strip(),
        )
    probe = f"smoke_{uuid.uuid4().hex[:8]}"
    base = [psql, "-X", "-qAt", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", PG_DATABASES[0]]
    r = run([*base, "-c", f"create database {probe}"], env)
    ok = r.returncode == 0
    if ok:
        r = run([*base, "-c", f"drop database {probe}"], env)
    check(f"postgres: {PG_USER} can CREATE DATABASE", ok and r.returncode == 0, r.stderr.strip())
    r = run([*base, "-c", "select 1"], {"PGPASSWORD": "wrong", "PGCONNECT_TIMEOUT": "5"})
    check("postgres: wrong password rejected", r.returncode != 0)


# ------------------------------------------------------------------ nats
def smoke_nats() -> None:
    code, _, _ = http("GET", f"{NATS_MONITOR}/healthz?js-enabled-only=true")
    check(f"nats: healthz (JetStream) {NATS_URL}", code == 200, f"HTTP {code}")
    code, jsz, _ = http("GET", f"{NATS_MONITOR}/jsz")
    check("nats: /jsz answers", code == 200 and isinstance(jsz, dict), f"HTTP {code}")


# ------------------------------------------------------------------ s3
def s3(
    method: str, path: str, ak: str = S3_AK, sk: str = S3_SK, data: str | None = None
) -> tuple[int, str]:
    cmd = [
        "curl",
        "-s",
        "-m",
        "10",
        "--aws-sigv4",
        f"aws:amz:{S3_REGION}:s3",
        "--user",
        f"{ak}:{sk}",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        f"http://{S3_ENDPOINT}{path}",
    ]
    if method == "HEAD":
        cmd[cmd.index("-X") : cmd.index("-X") + 2] = ["--head"]
    if data is not None:
        # curl 7.88 signs a --data-binary body wrongly for S3; declare the payload unsigned
        cmd += ["--data-binary", data, "-H", "Content-Type: text/plain"]
        cmd += ["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]
    r = run(cmd)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def smoke_s3() -> None:
    code, body = s3("GET", "/")
    check(f"s3: authenticated ListBuckets on {S3_ENDPOINT}", code == 200, f"HTTP {code}")
    for b in S3_BUCKETS:
        check(f"s3: bucket {b} exists", f"<Name>{b}</Name>" in body)
    code, _ = s3("GET", "/", sk="wrong-secret")
    check("s3: wrong secret key rejected", code == 403, f"HTTP {code}")
    code, _ = s3("GET", "/", ak="nobody")
    check("s3: unknown access key rejected", code == 403, f"HTTP {code}")
    code, _, _ = http("GET", f"http://{S3_ENDPOINT}/{S3_BUCKETS[0]}")
    check("s3: anonymous request rejected", code == 403, f"HTTP {code}")
    key = f"/{S3_BUCKETS[0]}/smoke/{uuid.uuid4().hex}.txt"
    c1, _ = s3("PUT", key, data="hello licheng")
    c2, got = s3("GET", key)
    c3, _ = s3("DELETE", key)
    check(
        "s3: put/get/delete object",
        (c1, c2, c3) == (200, 200, 204) and got == "hello licheng",
        f"{c1} {c2} {c3}",
    )


# ------------------------------------------------------------------ keycloak
def token(form: dict[str, str]) -> str | None:
    """Access token from the realm's token endpoint, or None."""
    code, tok, _ = http("POST", f"{KC}/realms/{REALM}/protocol/openid-connect/token", form=form)
    return str(tok["access_token"]) if code == 200 else None


def password_grant(username: str, password: str = TEST_PASSWORD) -> str | None:
    return token(
        {
            "client_id": "licheng-test-signin",
            "grant_type": "password",
            "username": username,
            "password": password,
        }
    )


def client_credentials(client_id: str, secret: str) -> str | None:
    return token(
        {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    )


def smoke_keycloak() -> None:
    issuer = f"{KC}/realms/{REALM}"
    code, disc, _ = http("GET", f"{issuer}/.well-known/openid-configuration")
    check("keycloak: discovery", code == 200 and disc["issuer"] == issuer, f"HTTP {code}")
    code, jwks, _ = http("GET", f"{issuer}/protocol/openid-connect/certs")
    kids = {k["kid"] for k in (jwks or {}).get("keys", []) if k.get("alg") == "RS256"}
    check("keycloak: JWKS has an RS256 key", bool(kids))

    tok = password_grant("t-admin")
    if tok is None:
        check("keycloak: password grant t-admin via licheng-test-signin", False)
    else:
        check("keycloak: password grant t-admin via licheng-test-signin", True)
        h, p = jwt_parts(tok)
        check(
            "keycloak: RS256 header with kid from JWKS",
            h.get("alg") == "RS256" and h.get("kid") in kids,
        )
        check("keycloak: iss", p.get("iss") == issuer, p.get("iss", ""))
        check("keycloak: aud contains licheng", "licheng" in aud_list(p), str(p.get("aud")))
        check(
            "keycloak: groups (full path)",
            p.get("groups") == ["/schools/011302/admin"],
            str(p.get("groups")),
        )
        check(
            "keycloak: pid",
            p.get("pid") == "00000000-0000-4000-8000-000000000001",
            str(p.get("pid")),
        )
        check(
            "keycloak: preferred_username, name",
            p.get("preferred_username") == "t-admin" and bool(p.get("name")),
            f"{p.get('name')}",
        )
    tok = password_grant("t-teacher")
    groups = sorted(jwt_parts(tok)[1].get("groups", [])) if tok else None
    check(
        "keycloak: t-teacher groups",
        groups == ["/schools/011302/course_teacher", "/schools/011302/homeroom_teacher"],
        str(groups),
    )
    check(
        "keycloak: wrong password rejected", password_grant("t-admin", "not-the-password") is None
    )

    tok = client_credentials("licheng-exports", EXPORTS_SECRET)
    check("keycloak: client credentials licheng-exports", tok is not None)
    if tok is not None:
        _, p = jwt_parts(tok)
        check(
            "keycloak: exports token roles/azp/aud",
            p.get("roles") == ["service"]
            and p.get("azp") == "licheng-exports"
            and "licheng" in aud_list(p)
            and "groups" not in p,
            json.dumps({k: p.get(k) for k in ("roles", "azp", "aud", "groups")}),
        )

    at = client_credentials("licheng-identity", IDENTITY_SECRET)
    check("keycloak: client credentials licheng-identity", at is not None)
    if at is None:
        return
    check("keycloak: identity token roles", jwt_parts(at)[1].get("roles") == ["service"])
    admin = f"{KC}/admin/realms/{REALM}"
    code, users, _ = http("GET", f"{admin}/users?max=200", at)
    names = {u["username"] for u in users or []}
    check(
        "keycloak: identity lists users (admin API)",
        code == 200 and {"t-admin", "t-teacher", "t-student", "t-operator"} <= names,
        f"HTTP {code}",
    )
    pid, name = str(uuid.uuid4()), f"smoke-{uuid.uuid4().hex[:8]}"
    code, _, hdrs = http(
        "POST",
        f"{admin}/users",
        at,
        body={
            "username": name,
            "enabled": True,
            "firstName": "Smoke",
            "lastName": "Test",
            "attributes": {"pid": [pid]},
        },
    )
    if check("keycloak: identity creates a user with pid", code == 201, f"HTTP {code}"):
        uid = hdrs["Location"].rsplit("/", 1)[1]
        _, u, _ = http("GET", f"{admin}/users/{uid}", at)
        check("keycloak: pid attribute sticks", (u or {}).get("attributes", {}).get("pid") == [pid])
        code, _, _ = http("DELETE", f"{admin}/users/{uid}", at)
        check("keycloak: identity deletes the probe user", code == 204, f"HTTP {code}")
    code, groups, _ = http("GET", f"{admin}/groups?search=011302&briefRepresentation=true", at)
    check("keycloak: identity can query groups", code == 200 and bool(groups), f"HTTP {code}")


def main(argv: list[str]) -> int:
    comps = argv or ["postgres", "nats", "s3", "keycloak"]
    for c in comps:
        fn = globals().get(f"smoke_{c}")
        if fn is None:
            print(f"unknown component {c}", file=sys.stderr)
            return 2
        try:
            fn()
        except Exception as exc:  # a crashed check is a failed check
            check(f"{c}: unexpected error", False, repr(exc))
    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"smoke: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
