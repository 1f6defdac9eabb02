"""De-identification of clinic messages (HIPAA Safe Harbor), bottom to top:

types.py: Span, DeidResult, PHI_TYPES, TYPE_PRIORITY. lexicon.py: word lists and the Lexicon.
clinic.py: ClinicRules (the clinic's clinicians and organizations). config.py: default_config().
recognizers/: one module per identifier kind and the registry that runs them (`find_spans`).
resolve.py: overlap resolution. facts.py: how a record's facts steer its text.
surrogates.py: fake values that keep the format. engine.py: Deidentifier (Presidio glue).
second_check.py: the gate's independent second look (Presidio's stock recognizers, the name lexicon).
gate.py: the PHI gate that refuses training data still holding identifiers.
"""
