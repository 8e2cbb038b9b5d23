from .cycles import add_months, parse_day

__all__ = ["add_months", "parse_day"]
