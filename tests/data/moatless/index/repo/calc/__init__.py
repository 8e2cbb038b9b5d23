from .stats import mean, median, clamp

__all__ = ["mean", "median", "clamp"]
