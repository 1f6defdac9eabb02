"""Identifier recognizers, one module per kind, and the registry that runs them.

base.py: the `Recognizer` interface, `register` / `registered`, `find_spans`.
contact.py: e-mail, web and IP addresses, phone and fax numbers.
identifiers.py: SSN, keyword IDs (MRN, member, account, license, plate, device), VIN, long numbers.
dates.py: dates and ages.
places.py: street addresses, ZIP codes, cities.
names.py: people's names (with tokens.py: the words of a message; organizations.py: the
organization names that keep the names and places inside them).

Importing the package registers every built-in recognizer.
"""
from trainer.deid.recognizers import contact, dates, identifiers, names, places
from trainer.deid.recognizers.base import (
    CLOCK_RE, Context, Recognizer, drop_clock_times, find_spans, register, registered, unregister,
)

__all__ = ["CLOCK_RE", "Context", "Recognizer", "drop_clock_times", "find_spans", "register", "registered",
           "unregister", "contact", "dates", "identifiers", "names", "places"]
