"""Signing in and out: Keycloak (OIDC code flow with PKCE) or the development issuer."""
