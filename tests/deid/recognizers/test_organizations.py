"""Organization names keep the names and places inside them; a person's family is no organization."""
import pytest

from tests.deid.helpers import found
from trainer.deid.config import default_config
from trainer.deid.engine import Deidentifier


@pytest.mark.parametrize("text", [
    "thanks for coming to Riverside Family today", "your visit at Riverside Family is confirmed",
    "Greetings from Oak Hill Pediatrics!", "This is Maple Grove Family calling",
    "seen at Northside Family Medicine yesterday",
])
def test_clinic_names_in_org_context_are_kept(text):
    bare = Deidentifier(default_config())  # no org names configured
    assert found(bare, text) == []


def test_a_persons_family_is_not_an_organization_and_orgs_stop_at_line_breaks(deid):
    assert found(deid, "Happy holidays from the Lopez Family!") == [("Lopez", "NAME")]
    assert found(deid, "the Garcia family called again") == [("Garcia", "NAME")]
    assert found(deid, "Nina\nRiverside Family") == [("Nina", "NAME")]  # configured org, cut short
