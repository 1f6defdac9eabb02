"""Folding and word tokens that every extractor shares."""
from trainer.facts import text


def test_fold_strips_accents_and_case():
    assert text.fold("López ÑANDÚ") == "lopez nandu"


def test_fold_aligned_keeps_offsets():
    s = "Sábado 3 de octubre"
    folded = text.fold_aligned(s)
    assert len(folded) == len(s) and folded.startswith("sabado")


def test_words_split_units_from_numbers():
    assert text.words("Atorvastatin 20mg") == ["atorvastatin", "20", "mg"]
    assert text.contains_words(text.words("your atorvastatin 20 mg refill"), ["atorvastatin", "20", "mg"])
    assert not text.contains_words(["a"], [])


def test_alternation_tries_longer_words_first():
    assert text.alternation(["sep", "sept", "september"]) == "september|sept|sep"
