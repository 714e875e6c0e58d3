"""Keycloak synchronisation: identity's people and role grants pushed to the realm."""

from licheng.identity.keycloak.directory import (
    MANAGED_GROUP_PREFIXES,
    DirectoryError,
    DirectoryRejected,
    DirectoryUnavailable,
    DirectoryUser,
    KeycloakDirectory,
)

__all__ = [
    "MANAGED_GROUP_PREFIXES",
    "DirectoryError",
    "DirectoryRejected",
    "DirectoryUnavailable",
    "DirectoryUser",
    "KeycloakDirectory",
]
