"""The image under test, built once per test run and shared by every test process."""

from __future__ import annotations

import os
import uuid

import pytest

from licheng.deploy.image import BuiltImage, build_shared

_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:12]


@pytest.fixture(scope="session")
def image() -> BuiltImage:
    """The OCI image of this checkout (deploy/image), in the project's containers storage."""
    return build_shared(run_id=_RUN)
