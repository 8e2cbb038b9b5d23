"""Date arithmetic for billing cycles."""
from datetime import date, timedelta

from dateutil import parser


def parse_day(text):
    """Parse a human date ('March 3, 2024', '2024-03-03') into a date."""
    return parser.parse(text).date()


def add_months(day, months):
    """The same day ``months`` later, clipped to the month's end (Jan 31 + 1 -> Feb 29)."""
    return day + timedelta(days=30 * months)
