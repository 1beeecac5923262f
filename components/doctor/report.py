"""Check results and the table they are printed as."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

OK, PROBLEM, WARNING, INFO, SKIPPED = "ok", "problem", "warning", "info", "skipped"


@dataclass(frozen=True)
class Result:
    """One row: ``problem`` fails the run, ``warning`` does not (the part still works, or may not be used here)."""

    component: str
    check: str
    status: str
    detail: str
    fix: str = ""


def failed(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if r.status == PROBLEM]


def table(results: Sequence[Result], detail_width: int = 64) -> str:
    """Aligned columns; a long detail wraps onto continuation lines, the fix stays one copyable line."""
    header = ("COMPONENT", "CHECK", "STATUS", "DETAIL", "FIX")
    lines = [header]
    for r in results:
        first, *more = textwrap.wrap(r.detail, detail_width, break_long_words=False, break_on_hyphens=False) or [""]
        lines.append((r.component, r.check, r.status, first, r.fix or "-"))
        lines.extend(("", "", "", line, "") for line in more)
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join(
        ("  ".join(cell.ljust(width) for cell, width in zip(line[:4], widths)) + "  " + line[4]).rstrip()
        for line in lines
    )
