from __future__ import annotations

from pathlib import Path

import pytest

# Every service's tables on the one metadata, so `create_schema` in any test creates them all.
import kiemchung.schema  # noqa: F401
from tests.corpus import Corpus, build_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent on this machine")
    return SHARED
