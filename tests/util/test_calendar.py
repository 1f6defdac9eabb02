"""The calendar words agree with Python's own calendar."""
import calendar as py_calendar
import datetime

from trainer.util import calendar


def test_english_names_match_python():
    assert calendar.MONTHS_EN == tuple(py_calendar.month_name[1:])
    assert calendar.MONTHS_EN_ABBR == tuple(py_calendar.month_abbr[1:])
    assert calendar.WEEKDAYS_EN == tuple(py_calendar.day_name)


def test_every_word_maps_to_its_number():
    for i, (en, es) in enumerate(zip(calendar.MONTHS_EN, calendar.MONTHS_ES), start=1):
        assert calendar.MONTH_NUMBER[en.lower()] == calendar.MONTH_NUMBER[es] == i
        assert calendar.month_name(i, "es", abbr=True) in calendar.MONTH_NUMBER
    for i, (en, es) in enumerate(zip(calendar.WEEKDAYS_EN, calendar.WEEKDAYS_ES)):
        assert calendar.WEEKDAY_NUMBER[en.lower()] == calendar.WEEKDAY_NUMBER[es] == i
        assert calendar.WEEKDAY_ES_ABBR_NUMBER[calendar.WEEKDAYS_ES_ABBR[i]] == i


def test_weekday_name_of_a_known_date():
    day = datetime.date(2026, 12, 15)
    assert calendar.weekday_name(day.weekday()) == "Tuesday"
    assert calendar.weekday_name(day.weekday(), "es") == "martes"
