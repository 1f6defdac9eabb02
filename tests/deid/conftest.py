"""De-identifiers configured as the tests need them; built once per session (they are read-only)."""
import pytest

from tests.deid.helpers import CLINICIANS, CLINICS, load_tool
from trainer.deid.clinic import ClinicRules
from trainer.deid.config import default_config
from trainer.deid.engine import Deidentifier
from trainer.deid.lexicon import load_lexicon


@pytest.fixture(scope="session")
def deid():
    cfg = default_config()
    cfg.clinician_names = CLINICIANS
    cfg.org_names = CLINICS
    return Deidentifier(cfg)


@pytest.fixture(scope="session")
def deid_gen():
    """Configured with the sample generator's clinic: clinicians David, Karen, Laura, ..."""
    gen = load_tool("make_sample_data")
    cfg = default_config()
    cfg.clinician_names = gen.CLINICIANS
    cfg.org_names = gen.CLINICS
    return Deidentifier(cfg)


@pytest.fixture(scope="session")
def rules():
    """What the recognizers read besides the text, for the same clinic as `deid`."""
    return ClinicRules(lexicon=load_lexicon(), clinician_names=tuple(CLINICIANS), org_names=tuple(CLINICS))
