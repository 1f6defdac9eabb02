"""The typo fixer fixes clear typos and never touches what it must protect."""
import pytest

from trainer.prepare import typos

# Messages written by hand for this test (not from any generator).
HELD_OUT = [
    "this is a reminder that your appointment with the clinic is next week please arrive early and bring your insurance card",
    "your lab results are ready to view in the patient portal please contact our office if you have questions about them",
    "we noticed you missed your visit yesterday and would like to help you find a better time please call the front desk",
    "your prescription refill has been sent to the pharmacy and should be ready for pickup tomorrow afternoon",
    "thank you for visiting our clinic we would appreciate your feedback on a short survey about your experience",
    "we hope you are recovering well after leaving the hospital please keep taking your medications as prescribed",
    "our records show you are due for your annual screening please schedule a visit at your earliest convenience",
    "thanks for your question about your bill the remaining balance reflects the payment from your insurance company",
    "please remember to fast for twelve hours before your blood work and drink plenty of water that morning",
    "if your symptoms get worse or you develop a fever please call the nurse line right away or visit urgent care",
    "your doctor reviewed your cholesterol results and recommends continuing your statin and metformin as prescribed",
    "remember to bring a list of your current medications including vitamins and supplements to your next visit",
]


@pytest.fixture(scope="module")
def fixer():
    return typos.TypoFixer()


def test_typo_fixer_never_changes_medical_words_numbers_ids_or_surrogates(fixer):
    protected = [
        "statin", "Ozempic", "HbA1c", "metformin", "Crohn's", "crohns", "A1c", "atorvastatin", "Eliquis",
        "lisinopril", "Jardiance", "mammogram", "colonoscopy", "telehealth", "MyChart", "copay", "Wegovy",
        "levothyroxine", "Xarelto", "eGFR", "LDL", "COPD", "Tdap", "Shingrix", "Januvia", "Synthroid",
    ]
    numbers_and_ids = ["500", "10mg", "2:30", "14:30", "555-201-3344", "$125.50", "3/14/2026", "MRN-0012345",
                      "P4857282", "https://portal.example.org/x7Q2", "ana.w@example.com", "[NAME]", "<PHONE>", "#A12"]
    for lang in ("en", "es"):
        for word in protected + numbers_and_ids:
            for text in (f"{word} was discussed today.", f"Please keep taking your {word} as prescribed.",
                         f"We reviewed {word}."):
                result = fixer.fix(text, lang)
                assert result.text == text, (word, result.changes)


def test_typo_fixer_fixes_clear_typos_but_not_fact_values(fixer):
    text = "Plese remember your appointmnet. We will recieve the prescriptoin for metfromin and your jardianse refill."
    protect = typos.protected_words({"medication": "jardianse 10 mg", "preferred_name": "Ana"})
    result = fixer.fix(text, "en", protect)
    assert result.text == ("Please remember your appointment. We will receive the prescription for metformin "
                           "and your jardianse refill.")
    assert ("appointmnet", "appointment") in result.changes


def test_typo_fixer_leaves_names_and_unknown_capitalized_words(fixer):
    text = "Hi Jhon, Dr. Okafr and Nurse Brienne at Lakeveiw Clinic will call you."
    assert fixer.fix(text, "en").text == text


def test_spanish_is_not_corrected_by_default(fixer):
    # The offline Spanish dictionary lacks inflections, so correct words would be "fixed".
    text = "Sus resultados están disponibles; tiene que llamar para confirmar su cita mañana."
    assert fixer.fix(text, "es").text == text


def test_words_frequent_in_the_corpus_are_protected(fixer):
    # "wellnes" looks like a typo of "wellness", but a clinic program spelled that way recurs.
    text = "Join the wellnes program today."
    assert fixer.fix(text, "en").text == "Join the wellness program today."
    counts = typos.corpus_word_counts([text, "Our wellnes team", "wellnes classes resume", "one off"])
    assert fixer.with_corpus(typos.frequent_corpus_words(counts, 3)).fix(text, "en").text == text


def test_evaluate_typo_fixer_reports_fixed_and_wrongly_changed(fixer):
    result = typos.evaluate_typo_fixer(fixer, HELD_OUT, rate=0.15, seed=3)
    report = result.to_json()
    for key in ("injected", "fixed", "miscorrected", "missed", "wrongly_changed", "fix_rate", "false_change_rate"):
        assert key in report
    assert result.injected >= 15
    assert result.fixed + result.miscorrected + result.missed == result.injected
    assert result.fix_rate >= 0.6
    assert result.wrongly_changed == 0
    # Without typos nothing may change at all.
    assert typos.evaluate_typo_fixer(fixer, HELD_OUT, rate=0.0).wrongly_changed == 0


def test_make_typo_changes_the_word_but_keeps_its_first_letter():
    import random

    rng = random.Random(0)
    for word in ("appointment", "pharmacy", "results", "reminder"):
        typo = typos.make_typo(word, rng)
        assert typo != word and typo[0] == word[0]


def test_contractions_typed_without_apostrophe(fixer):
    text = "Dont forget, we didnt get it. Its fine, well done, you feel ill."
    assert fixer.fix(text, "en").text == "Don't forget, we didn't get it. Its fine, well done, you feel ill."
