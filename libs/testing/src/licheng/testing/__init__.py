"""Test support on real infrastructure: throwaway servers, databases, tokens, fixtures.

The suite's test command provisions PostgreSQL, NATS, SeaweedFS and Keycloak and exports
their addresses as `LICHENG_TEST_*`; nothing here fakes them.
"""
