"""Month and weekday words in English and Spanish, the one table every module reads.

Numbers follow Python: months 1-12, weekdays Monday == 0. Consumers pick the subsets they need
(a de-identifier must not treat "Dom" or "Sat" the way a date parser does), but the words and
their numbers live only here.
"""
from __future__ import annotations

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
MONTHS_EN_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")
MONTHS_ES_ABBR = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
# Three-letter Spanish weekday abbreviations ("lun 3 de marzo"); alone most are ordinary words.
WEEKDAYS_ES_ABBR = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")

# Lower-case month word -> number: full names and the abbreviations and variants both languages use.
MONTH_NUMBER: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
    "enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5, "junio": 6,
    "julio": 7, "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9, "octubre": 10,
    "noviembre": 11, "diciembre": 12, "dic": 12,
}
# Misspellings seen in patient and staff text ("Febuary 3"): identifiers when they carry a date.
MONTH_MISSPELLINGS: dict[str, int] = {"janurary": 1, "febuary": 2, "feburary": 2}

# Lower-case weekday word -> number (Monday == 0), English and Spanish, with and without accents.
WEEKDAY_NUMBER: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5,
    "sat": 5, "sunday": 6, "sun": 6,
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sábado": 5, "sabado": 5, "domingo": 6,
}
WEEKDAY_MISSPELLINGS: dict[str, int] = {"weds": 2, "wensday": 2, "wendsday": 2}
WEEKDAY_ES_ABBR_NUMBER: dict[str, int] = {w: i for i, w in enumerate(WEEKDAYS_ES_ABBR)}


def month_name(month: int, lang: str = "en", abbr: bool = False) -> str:
    """'December' / 'Dec' / 'diciembre' / 'dic' for month 1-12 (Spanish in lower case, as written)."""
    table = {("en", False): MONTHS_EN, ("en", True): MONTHS_EN_ABBR,
             ("es", False): MONTHS_ES, ("es", True): MONTHS_ES_ABBR}[(lang, abbr)]
    return table[month - 1]


def weekday_name(weekday: int, lang: str = "en") -> str:
    """'Tuesday' / 'martes' for Python's weekday() number."""
    return (WEEKDAYS_ES if lang == "es" else WEEKDAYS_EN)[weekday]
