"""The development token issuer for the embedded run (no Keycloak)."""
