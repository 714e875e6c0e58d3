"""Where the provisioned test infrastructure lives, read from `LICHENG_TEST_*`."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[5]
INFRA_ENV_FILE = REPO_ROOT / "var" / "infra" / "test" / "infra.env"


class InfraMissingError(RuntimeError):
    """The tests were started without the infrastructure the test command provisions."""


def _load_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export ") :]
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            parsed = shlex.split(value)
            values[key.strip()] = parsed[0] if parsed else ""
    return values


@dataclass(frozen=True)
class TestInfra:
    """Addresses and credentials of the provisioned servers."""

    __test__ = False  # not a test class

    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    nats_url: str
    nats_server_bin: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    keycloak_url: str
    keycloak_realm: str

    @property
    def keycloak_issuer(self) -> str:
        """The realm's issuer, as it appears in `iss`."""
        return f"{self.keycloak_url}/realms/{self.keycloak_realm}"

    def pg_url(self, database: str, *, driver: str = "asyncpg") -> str:
        """A SQLAlchemy URL for one database on the test server."""
        return (
            f"postgresql+{driver}://{self.pg_user}:{self.pg_password}"
            f"@{self.pg_host}:{self.pg_port}/{database}"
        )


def load_infra() -> TestInfra:
    """Read the infrastructure's addresses; fail loudly when it was not provisioned."""
    env = dict(os.environ)
    if "LICHENG_TEST_PG_PORT" not in env and INFRA_ENV_FILE.exists():
        env = {**_load_env_file(INFRA_ENV_FILE), **env}
    try:
        return TestInfra(
            pg_host=env["LICHENG_TEST_PG_HOST"],
            pg_port=int(env["LICHENG_TEST_PG_PORT"]),
            pg_user=env["LICHENG_TEST_PG_USER"],
            pg_password=env["LICHENG_TEST_PG_PASSWORD"],
            nats_url=env["LICHENG_TEST_NATS_URL"],
            nats_server_bin=env["LICHENG_TEST_NATS_SERVER_BIN"],
            s3_endpoint=env["LICHENG_TEST_S3_ENDPOINT"],
            s3_access_key=env["LICHENG_TEST_S3_ACCESS_KEY"],
            s3_secret_key=env["LICHENG_TEST_S3_SECRET_KEY"],
            keycloak_url=env["LICHENG_TEST_KEYCLOAK_URL"],
            keycloak_realm=env["LICHENG_TEST_KEYCLOAK_REALM"],
        )
    except KeyError as missing:
        raise InfraMissingError(
            f"test infrastructure not provisioned ({missing.args[0]} unset): "
            "run the suite with `./licheng test`, which starts PostgreSQL, NATS, "
            "SeaweedFS and Keycloak first"
        ) from None
