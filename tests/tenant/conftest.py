from __future__ import annotations

import pytest

from fixtures.pytest_plugin import launch, local_tenant  # noqa: F401  (the factory fixture)
from tests.tenant.platform_client import new_org


@pytest.fixture(scope="module")
def healthy_tenant():
    tenant = launch()
    yield tenant
    tenant.cleanup()


@pytest.fixture(scope="module")
def org(healthy_tenant):
    return new_org(healthy_tenant)


@pytest.fixture(scope="module")
def online_workspace(org):
    wid = org.create_workspace()
    org.wait_routable(wid)
    return wid
