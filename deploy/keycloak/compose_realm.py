"""Compose the realm Keycloak imports: the production realm, plus (development and test only)
an overlay adding test users and a client that allows the password grant.

    python3 deploy/keycloak/compose_realm.py REALM.json [OVERLAY.json] > staged.json

An overlay client with `copyFrom` starts as a copy of that realm client (its scopes and
mappers, so its tokens carry the same claims) and takes the overlay's fields over it.
Standard library only: the infrastructure script runs it before the workspace exists.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any


def compose(realm: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The realm with the overlay's clients and users added."""
    composed = copy.deepcopy(realm)
    clients = {c["clientId"]: c for c in composed.get("clients", [])}
    for extra in overlay.get("clients", []):
        base = copy.deepcopy(clients[extra["copyFrom"]]) if "copyFrom" in extra else {}
        base.pop("id", None)
        base.update({k: v for k, v in extra.items() if k != "copyFrom"})
        composed.setdefault("clients", []).append(base)
    composed.setdefault("users", []).extend(copy.deepcopy(overlay.get("users", [])))
    return composed


def main(argv: list[str]) -> None:
    """Print the composed realm."""
    realm = json.loads(Path(argv[0]).read_text())
    overlay = json.loads(Path(argv[1]).read_text()) if len(argv) > 1 and argv[1] else {}
    json.dump(compose(realm, overlay), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
