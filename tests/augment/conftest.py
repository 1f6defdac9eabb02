"""One de-identifier for the augmentation tests (building it takes ~10 s)."""
import pytest

from trainer.deid.engine import Deidentifier


@pytest.fixture(scope="session")
def deid():
    return Deidentifier()
