"""A tool context over the tiny synthetic catalog, stored in the test's own SQLite file."""

from __future__ import annotations

import pytest

from agent.tools import ToolContext
from recsys.catalog import Catalog
from recsys.settings import Settings
from tests.agent.tools.helpers import make_context


@pytest.fixture
def ctx(tiny_catalog: Catalog, settings: Settings) -> ToolContext:
    return make_context(tiny_catalog, settings)
