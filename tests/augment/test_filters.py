"""Each filter rejects a planted bad candidate with its reason code; a good one is kept."""
import copy


from tests.augment.helpers import TEST, TRAIN, VAL
from trainer.augment import config as augment_config
from trainer.augment import filters, generators, masking, similarity
from trainer.facts.config import default_config as facts_config
from trainer.prepare import dedup

FACTS = facts_config()


def candidate(src, response, facts=None, method=generators.EDGE, language=None):
    return generators.Candidate(
        id=f"c-{abs(hash(response)) % 10**8}", source_id=src["id"], method=method, category="test",
        patient_key=src["patient_key"], task=src["task"], facts=copy.deepcopy(facts or src["facts"]),
        response=response, source_response=src["response"], language=language or src["facts"]["language"])


def run(cands, deid, **overrides):
    cfg = augment_config.default_config().filters
    cfg.update(overrides)
    index = filters.DuplicateIndex([(e["id"], e["response"]) for e in TRAIN + VAL + TEST], dedup.default_config(),
                                   cfg.dedup_threshold)
    return {c.id: (reason, detail) for c, reason, detail in
            filters.run_filters(cands, cfg, FACTS, encoder=similarity.LexicalEncoder(), deidentifier=deid,
                                dup_index=index)}


def good_edge_case():
    src = TRAIN[0]
    text, facts = masking.substitute(src["response"], src["facts"],
                                     {"appointment_date": "2024-12-30", "preferred_name": "Ana-Sofía",
                                      "callback_phone": "503-555-0199", "provider_name": "Dr. Penny Piña"})
    return candidate(src, text, facts)


def test_good_candidate_is_kept(deid):
    c = good_edge_case()
    assert run([c], deid)[c.id][0] == ""


def test_changed_date_is_rejected_as_fact_missing(deid):
    src = TRAIN[0]
    c = candidate(src, src["response"].replace("June 14", "June 15").replace("Friday", "Saturday"))
    reason, detail = run([c], deid)[c.id]
    assert reason == "fact_missing" and "appointment_date" in detail
    assert filters.hallucinated(c, FACTS)  # and the new date is an invented one


def test_invented_phone_is_rejected_as_hallucination(deid):
    src = TRAIN[4]
    c = candidate(src, src["response"] + " After hours: (503) 555-0100.")
    reason, detail = run([c], deid)[c.id]
    assert reason == "hallucination" and "phone" in detail


def test_wrong_language_is_rejected(deid):
    src, es = TRAIN[4], TRAIN[5]
    # every fact of the English source, written in Spanish
    text = "Hola Manuel, su receta de sertraline 50 mg fue enviada a la farmacia. Le quedan 5 resurtidos. " \
           "¿Preguntas? Llame al (645) 555-0107."
    c = candidate(src, text)
    assert es["facts"]["language"] == "es"
    assert run([c], deid)[c.id][0] == "wrong_language"


def test_identifier_introduced_is_rejected(deid):
    src = TRAIN[4]
    c = candidate(src, src["response"] + " Your MRN is 88812345.")
    reason, detail = run([c], deid)[c.id]
    assert reason == "identifier_introduced" and "MRN" in detail
    # the same candidate without the de-identifier check would have been kept
    assert run([candidate(src, src["response"] + " Your MRN is 88812345.")], deid,
               check_identifiers=False)[c.id][0] == ""


def test_stated_facts_and_source_words_are_not_identifiers(deid):
    c = good_edge_case()  # new name, date and phone, all facts
    spans = deid.find(c.response)
    assert spans and filters.introduced_identifiers(c, spans, FACTS) == []


def test_near_duplicate_of_a_val_message_is_rejected(deid):
    src = TRAIN[4]
    v = VAL[0]  # same template as the source, other facts: the candidate copies the val message
    c = candidate(src, v["response"] + " ", facts=v["facts"])
    reason, detail = run([c], deid)[c.id]
    assert reason == "near_duplicate" and v["id"] in detail


def test_sms_over_the_limit_is_rejected(deid):
    src = TRAIN[4]
    c = candidate(src, src["response"] + " We are here for you." * 12)
    assert len(c.response) > FACTS.sms_max_chars
    assert run([c], deid)[c.id][0] == "sms_too_long"


def test_similarity_band(deid):
    src = TRAIN[4]
    same = candidate(src, src["response"], method=generators.PARAPHRASE)
    assert run([same], deid)[same.id][0] == "too_similar"
    drift = candidate(src, "Manuel, you have 5 refills left for your sertraline 50 mg. Call (645) 555-0107 with any "
                           "questions.", method=generators.PARAPHRASE)
    reason, detail = run([drift], deid, bands={"edge_case": {"min": 0.5, "max": 1.0},
                                               "paraphrase": {"min": 0.9, "max": 0.98},
                                               "backtranslation": {"min": 0.6, "max": 0.99}})[drift.id]
    assert reason == "too_dissimilar" and "similarity" in detail


def test_generator_errors_keep_their_reason(deid):
    c = candidate(TRAIN[0], "Hi {patient}")
    c.error, c.detail = "placeholder_lost", "unknown placeholders ['patient']"
    assert run([c], deid)[c.id] == ("placeholder_lost", "unknown placeholders ['patient']")


def test_kept_candidates_are_deduplicated_among_themselves(deid):
    a, b = good_edge_case(), good_edge_case()
    b.id = a.id + "-twin"
    got = run([a, b], deid)
    assert got[a.id][0] == "" and got[b.id][0] == "near_duplicate"


def test_minilm_similarity_orders_meaning():
    enc = similarity.MiniLMEncoder()
    s = enc.similarity(["Your appointment with Dr. Chen is on Monday at 2 PM."] * 2,
                       ["You are scheduled to see Dr. Chen on Monday at 2 PM.", "The pharmacy closes early on holidays."])
    assert s[0] > 0.8 and s[1] < 0.4
