from datetime import date

from dateutil.relativedelta import relativedelta

from billing import add_months, parse_day


def test_parse_day():
    assert parse_day("March 3, 2024") == date(2024, 3, 3)


def test_parse_iso():
    assert parse_day("2024-03-03") == date(2024, 3, 3)
