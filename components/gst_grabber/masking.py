"""Masks camera credentials in everything the grabber prints or writes.

The RTSP URL carries ``user:password@``; GStreamer echoes it in errors and property dumps,
so every line that leaves the process goes through a :class:`Masker` first.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
# scheme://user:secret@  -> scheme://user:***@ (any URL, not only the configured one)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s/]*)@")


def url_password(url: str) -> str:
    """The password part of ``url`` as written (possibly percent-encoded), or ''."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    userinfo, sep, _host = netloc.rpartition("@")
    if not sep or ":" not in userinfo:
        return ""
    return userinfo.split(":", 1)[1]


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    return Masker.for_url(url).mask(url)


MIN_FREE_SECRET = 4


class Masker:
    """Replaces any URL userinfo password, and known secrets (raw, percent-encoded, decoded) anywhere.

    Secrets shorter than ``MIN_FREE_SECRET`` are masked only inside URLs: replacing every ``p`` of a
    one-letter password would make the logs unreadable while hiding nothing.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants = set()
        for secret in secrets:
            if secret:
                variants.update({secret, unquote(secret), quote(unquote(secret), safe="")})
        # Longest first so that a secret containing another is masked whole.
        self._secrets = sorted((v for v in variants if len(v) >= MIN_FREE_SECRET), key=len, reverse=True)

    @classmethod
    def for_url(cls, url: str) -> Masker:
        return cls([url_password(url)])

    def mask(self, text: str) -> str:
        text = _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


class MaskingFilter(logging.Filter):
    """Logging filter that masks the fully formatted message, exception text included."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.masker.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.masker.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
