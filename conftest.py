"""Suite-wide pytest set-up: the shared fixtures on real infrastructure."""

pytest_plugins = ["licheng.testing.fixtures"]
