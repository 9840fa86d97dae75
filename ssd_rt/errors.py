"""Errors a user can cause. Each carries one line that a command prints without a traceback."""


class SSDRTError(Exception):
    """Base of every error ssd-rt raises for bad input; commands print `str(err)` and exit 1."""


class ConfigError(SSDRTError, ValueError):
    """An invalid configuration value: unknown norm or preset, a prior spec that does not fit."""


class ShapeError(SSDRTError, ValueError):
    """A tensor or image whose shape, dtype or layout is not what the function takes."""


class WeightsError(SSDRTError):
    """A weights file that is missing, unreadable, or not the model it claims to be."""


class DataError(SSDRTError):
    """A data set that cannot be read: a missing image, a malformed annotation file or line."""
