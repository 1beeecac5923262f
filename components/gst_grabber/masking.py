"""Masks camera credentials in everything the grabber prints or writes.

The RTSP URL carries ``user:password@``; GStreamer echoes it in errors and property dumps,
so every line that leaves the process goes through a :class:`Masker` first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

MASK = "***"
# scheme://user:secret@  -> scheme://user:***@ (any URL, not only the configured one). The secret runs to the
# last '@' of the word: an unencoded '@' in a password must not leave its tail in clear.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)@")


def split_credentials(url: str) -> tuple[str, str, str]:
    """(``url`` without its userinfo, user, password), user and password as written (maybe percent-encoded).

    Parsed by hand, not with urlsplit: it must also work without a scheme, with an unencoded '@' or '/'
    in the password and with a malformed port, where a parser refuses or splits in the wrong place.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        scheme, rest = "", url.strip()
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url.strip(), "", ""
    user, _, password = userinfo.partition(":")
    return f"{scheme}{sep}{host}", user, password


def url_password(url: str) -> str:
    """The password part of ``url`` as written (possibly percent-encoded), or ''."""
    return split_credentials(url)[2]


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, whatever its shape (see :func:`url_password`)."""
    password = url_password(url)
    if not password:
        return Masker().mask(url)
    head, _, host = url.rpartition("@")  # head ends with the password: both split at the last '@'
    return f"{head[:len(head) - len(password)]}{MASK}@{host}"


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
        for secret in self._secrets:  # known secrets first: the URL pattern below would split one at an '@'
            text = text.replace(secret, MASK)
        return _USERINFO.sub(lambda m: m.group("head") + MASK + "@", text)


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
