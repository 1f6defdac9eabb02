"""A message's words: sentence starts, capitals, language, and the kind of each word."""
import pytest
import spacy

from trainer.deid.recognizers.tokens import Tokens


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")  # tokens only: enough for word kinds


def test_word_kinds(nlp, rules):
    text = "hi maria, the metformin ran out. sean green called"
    tokens = Tokens(text, nlp(text), rules)
    kinds = {t.text: tokens.kind(t) for t in tokens.words}
    assert (kinds["maria"], kinds["sean"], kinds["green"], kinds["the"]) == ("strong", "strong", "common", "word")
    assert [t.text for t in tokens.words if tokens.protected(t)] == ["hi", "the", "metformin", "out"]
    assert [t.text for t in tokens.words if t.sent_start] == ["hi", "sean"]
    assert not tokens.spanish and not tokens.allcaps


def test_language_and_all_capitals(nlp, rules):
    spanish = Tokens("hola, mi cita es el lunes", nlp("hola, mi cita es el lunes"), rules)
    assert spanish.spanish
    shouting = Tokens("HI THIS IS SEAN GREEN", nlp("HI THIS IS SEAN GREEN"), rules)
    assert shouting.allcaps and not any(t.cap for t in shouting.words)
