"""Credentials never reach a log: `rtsp://alice:S3cret@cam/stream` is shown as
`rtsp://alice:***@cam/stream` in every line, error, status, window and file's metadata.

    mask_credentials(text)       the text with every URL password (and secret query value) masked
    MaskingFilter()              a logging.Filter doing the same to each record it passes

Masked: the password of `user:password@`, a whole `token@` user part (cameras and relays use
the user field for an API key), and the values of query parameters that name a secret
(`?token=`, `&password=`, `key`, `sig`, ...). Only the URL the user gave is kept unmasked, by
the reader that opens it; everything printed goes through here.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# scheme://user:password@  or  scheme://user@  (user-info ends at the first / ? # or space)
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<info>[^/?#@\s]+)@")
_SECRET_QUERY = re.compile(
    r"(?P<key>[?&;](?:[\w.\-]*(?:pass|pwd|token|secret|key|auth|sig|signature|credential)"
    r"[\w.\-]*)=)(?P<value>[^&;#\s]+)",
    re.IGNORECASE,
)


def _mask_userinfo(match: re.Match) -> str:
    user, colon, _password = match["info"].partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{match['scheme']}{shown}@"


def mask_credentials(text: str) -> str:
    """`text` with URL passwords, user tokens and secret query values replaced by ***."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(_mask_userinfo, text)
    return _SECRET_QUERY.sub(lambda m: f"{m['key']}{MASK}", text)


class MaskingFilter(logging.Filter):
    """Masks credentials in a record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_credentials(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_logging(logger: logging.Logger | None = None) -> None:
    """Put a MaskingFilter on every handler of `logger` (default: the root logger)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
