"""The fact checker: is every key fact of a message stated exactly, and is nothing invented?

prepare (quality filter) and eval (fact accuracy, hallucinations) share it, so it sits below
both. Modules by what they extract: text (folding, words), dates, times, contacts (phones,
URLs, e-mails), amounts, names, kinds (what a fact holds), config, checks (the verdicts), roles
(whether a value is stated in its role, read from a fact dictionary).
"""
from trainer.facts.amounts import find_amounts, parse_amount
from trainer.facts.checks import (HALLUCINATION_KINDS, FactCheck, Hallucination, check_facts, fact_stated,
                                  find_hallucinations, key_fact_names, reading_grade, score_output, sms_length_ok)
from trainer.facts.config import default_config
from trainer.facts.contacts import find_emails, find_phones, find_urls, phone_matches, url_stated
from trainer.facts.dates import DateMention, date_matches, fact_weekdays, find_dates, parse_iso_date
from trainer.facts.kinds import KINDS, fact_kind, infer_kind
from trainer.facts.names import find_names, person_stated
from trainer.facts.roles import RoleCheck, check_roles, dictionary_config, documented, fact_in_role
from trainer.facts.text import Mention, fold
from trainer.facts.times import TimeMention, find_times, parse_time, time_matches

__all__ = [
    "HALLUCINATION_KINDS", "KINDS", "DateMention", "FactCheck", "Hallucination", "Mention", "RoleCheck",
    "TimeMention", "check_facts", "check_roles", "dictionary_config", "documented", "fact_in_role", "date_matches", "default_config", "fact_kind", "fact_stated", "fact_weekdays", "find_amounts",
    "find_dates", "find_emails", "find_hallucinations", "find_names", "find_phones", "find_times", "find_urls",
    "fold", "infer_kind", "key_fact_names", "parse_amount", "parse_iso_date", "parse_time", "person_stated",
    "phone_matches", "reading_grade", "score_output", "sms_length_ok", "time_matches", "url_stated",
]
