"""How a configuration key is declared, parsed and guarded: one machinery for the counter and the grabber.

Both components read one configuration (a shared cameras list, one deployment document), so a key means
the same on both sides only if it is declared and parsed the same way. A key is a dataclass field made by
:func:`key`: its default, a :class:`Kind` (parser plus the type, range and JSON Schema the generated
reference shows), help text and metavar. Every value from outside goes through :func:`guarded` (and
text through :func:`load_text`, a file through :func:`read_text_file`), so an oversized, deeply nested or
non-file value is one line, never a traceback or a hang. Standard library only (PyYAML when installed):
the grabber's image carries this folder as plain files, on the Python of its base image (3.9 and later).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import re
import stat
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Callable

#: A settings file or a setting's text is a few kilobytes; anything far larger is the wrong value.
MAX_TEXT_BYTES = 1024 * 1024
#: Levels of nesting a value may have: a cameras list of entries holding lines of points is 5.
MAX_DEPTH = 12
#: Lists, mappings and scalars one value may hold in all (YAML aliases count each time they are used).
MAX_NODES = 100_000


@dataclasses.dataclass(frozen=True)
class Kind:
    """A key's type: ``parse`` turns what a flag, variable or file gives into the value (ValueError if bad);
    ``type``, ``range`` and ``schema`` describe it for the generated reference and JSON Schema."""

    parse: Callable[[Any], Any]
    type: str
    schema: Mapping[str, Any]
    range: str = ""

    def __call__(self, value: Any) -> Any:
        return self.parse(value)


def key(default: Any, help: str, kind: Kind, metavar: str | None = None, **facts: Any) -> Any:
    """A dataclass field declaring one configuration key; ``facts`` are the component's own (e.g. what a change
    rebuilds). The field's name is the key, its flag and (upper-cased) its environment variable."""
    return dataclasses.field(default=default, metadata={"help": help, "kind": kind, "metavar": metavar, **facts})


def keys(declaration: Any) -> tuple[dataclasses.Field, ...]:
    """The key fields of a dataclass (or an instance) declared with :func:`key`."""
    return tuple(f for f in dataclasses.fields(declaration) if "kind" in f.metadata)


def parse_key(field: dataclasses.Field, value: Any) -> Any:
    """``value`` through the key's Kind after the shape guards; ValueError with the reason."""
    guarded(value)
    return field.metadata["kind"](value)


# -- kinds ------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, datetime.date):  # YAML reads counts_reset: 2024-06-01 as a date
        return value.isoformat()
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("expected a string")
    return str(value)


TEXT = Kind(_text, "string", {"type": ["string", "number"]})


def text(parse: Callable[[str], Any], type: str = "string", range: str = "") -> Kind:
    """A Kind for a string with its own rule (a URL, a path): ``parse`` gets the value as text."""
    return Kind(lambda value: parse(_text(value)), type, {"type": ["string", "number"]}, range)


def number(kind: type, low: float | None = None, high: float | None = None) -> Kind:
    """An int or float (also given as text), finite and within ``low..high``."""

    def parse(value: Any) -> Any:
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected {noun}, got {value!r}")  # 2.5 frames is no count to round
        try:
            result = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"expected {noun}, got {value!r}") from None
        if not math.isfinite(result):  # NaN passes every comparison below: a threshold of nan would count nothing
            raise ValueError(f"expected a finite number, got {value!r}")
        if (low is not None and result < low) or (high is not None and result > high):
            raise ValueError(f"{result} is outside {bounds}")
        return result

    noun = "an integer" if kind is int else "a number"
    bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
    schema: dict[str, Any] = {"type": ["integer" if kind is int else "number", "string"]}
    schema.update({name: limit for name, limit in (("minimum", low), ("maximum", high)) if limit is not None})
    return Kind(parse, "integer" if kind is int else "number", schema, bounds if low is not None or high else "")


def choice(*choices: Any) -> Kind:
    """One of ``choices``, compared case-insensitively and returned as declared."""

    def parse(value: Any) -> Any:
        for option in choices:
            if str(value).lower() == str(option).lower():
                return option
        raise ValueError(f"expected one of {', '.join(map(str, choices))}, got {value!r}")

    spelled = sorted({str(c) for c in choices} | {str(c).lower() for c in choices}
                     | {str(c).upper() for c in choices})
    values = [c for c in choices if not isinstance(c, str)] + spelled
    return Kind(parse, "choice", {"enum": values}, " | ".join(map(str, choices)))


_ON, _OFF = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


def _switch(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise ValueError(f"expected on or off, got {value!r}")


SWITCH = Kind(_switch, "on|off", {"enum": [True, False, *_ON, *_OFF, 1, 0]})


# -- guards -----------------------------------------------------------------------------------------------


def guarded(value: Any, limit_depth: int = MAX_DEPTH) -> Any:
    """``value`` if it is plain data (str, number, bool, None, lists and string-keyed mappings of them) at
    most ``limit_depth`` levels deep and ``MAX_NODES`` in all; ValueError saying which limit it broke.
    Iterative, so a value nested too deeply for Python's recursion limit is refused like any other."""
    stack: list = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"more than {MAX_NODES} values in one setting; expected at most a few hundred")
        if isinstance(item, (list, tuple)):
            children = list(item)
        elif isinstance(item, dict):
            if not all(isinstance(k, (str, int, float, bool)) or k is None for k in item):
                raise ValueError("a mapping key that is not text")
            children = list(item.values())
        elif item is None or isinstance(item, (str, int, float, bool, datetime.date)):
            continue
        else:
            raise ValueError(f"a {type(item).__name__}; expected text, numbers, lists and mappings")
        if children and depth >= limit_depth:
            raise ValueError(f"nested deeper than {limit_depth} levels; a setting has at most a few")
        stack.extend((child, depth + 1) for child in children)
    return value


def load_text(text: str, limit_depth: int = MAX_DEPTH) -> Any:
    """JSON (or YAML when PyYAML is installed) ``text`` -> plain data, guarded; empty text is None."""
    if len(text) > MAX_TEXT_BYTES:
        raise ValueError(f"longer than {MAX_TEXT_BYTES // 1024} KiB; expected a few lines of JSON or YAML")
    if not text.strip():
        return None
    try:
        import yaml
    except ImportError:  # the grabber's image without python3-yaml: JSON only
        yaml = None
    try:
        data = json.loads(text) if yaml is None else yaml.safe_load(text)  # JSON is valid YAML
    except RecursionError:
        raise ValueError(f"nested deeper than {limit_depth} levels; a setting has at most a few") from None
    except ValueError as exc:  # json.JSONDecodeError; a YAML date like 2024-13-01
        raise ValueError(one_line(f"not valid {'JSON' if yaml is None else 'YAML/JSON'}: {exc}")) from None
    except Exception as exc:  # yaml.YAMLError, kept out of the signature for the JSON-only image
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(one_line(f"not valid YAML/JSON{at}: {getattr(exc, 'problem', None) or exc}")) from None
    return guarded(data, limit_depth)


def read_text_file(path: str) -> str:
    """The UTF-8 text of a regular file of at most ``MAX_TEXT_BYTES``; ValueError (a phrase: "not UTF-8 text")
    otherwise. A FIFO, device or
    folder is refused before it is opened: reading one would block or never end."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(f"unreadable: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file (a FIFO, device or folder); give a YAML or JSON file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"unreadable: {exc.strerror}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise ValueError(f"larger than {MAX_TEXT_BYTES // 1024} KiB; is it the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text; expected YAML or JSON") from None


def one_line(reason: Any) -> str:
    """An error's text on one line (a YAML problem can span several)."""
    return " ".join(str(reason).split())



# -- generated recipe blocks ------------------------------------------------------------------------------


def config_value(value: Any) -> Any:
    """A default as a JSON configuration value that parses back to it (None: empty; names: comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value) if isinstance(value, os.PathLike) else value


def recipe_value(field: dataclasses.Field) -> Any:
    """The key's value in a recipe's DefaultConfiguration: the component's own default where it differs."""
    return config_value(field.metadata.get("component_default", field.default))


#: A Secrets Manager secret ARN (AWS Secrets Manager API reference, "ARN format"): what the components' *_secret_arn
#: keys must look like, checked by ggctl before deploying and by the counter when validating a deployment.
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")


def in_recipe(fields: Sequence[dataclasses.Field]) -> list[dataclasses.Field]:
    """The keys a recipe's DefaultConfiguration lists (a few are always set by the recipe or the device instead)."""
    return [f for f in fields if f.metadata.get("recipe", True)]


def table_row(cells: Sequence[str]) -> str:
    """One row of a generated Markdown table, a ``|`` inside a cell escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def yaml_block(fields: Sequence[dataclasses.Field], indent: str = "    ") -> list[str]:
    """``key: value`` lines of a recipe's DefaultConfiguration, each under its help (and note) as a comment.
    Values are written as JSON, which is valid YAML, so this needs no YAML library."""
    lines: list[str] = []
    for field in fields:
        note = ". ".join(filter(None, (field.metadata["help"], field.metadata.get("component_note"))))
        lines += textwrap.wrap(note, 116, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ")
        lines.append(f"{indent}{config_key(field)}: {json.dumps(recipe_value(field))}")
    return lines


def config_key(field: dataclasses.Field) -> str:
    """The key's name in a component configuration (``config_key`` where it differs from the field's)."""
    return field.metadata.get("config_key", field.name)


def replace_block(text: str, begin: str, end: str, lines: Sequence[str]) -> str:
    """``text`` with the lines from the one starting with ``begin`` to the one starting with ``end`` replaced by
    ``begin``, ``lines`` and ``end`` (a generated part of a hand-written file)."""
    head, sep, rest = text.partition(begin)
    if not sep or end not in rest:
        raise ValueError(f"no block '{begin.strip()}' ... '{end.strip()}' to fill")
    tail = rest[rest.index(end) + len(end):]
    return "\n".join([head + begin, *lines, end]) + tail
