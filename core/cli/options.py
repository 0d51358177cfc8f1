"""Command-line options built from the field tables (core.config FIELDS and VIEW_FIELDS, the
training lab's TRAIN_FIELDS): one option per field, with the field's type, range or choices,
unit and help. A value outside the field's range is refused by argparse (exit code 2, one line)
with the same limits the app and the file validators use."""
from __future__ import annotations

import argparse
import math

from ..config import Field


def _number(f: Field):
    """An argparse `type` converting and range-checking a value for field `f`."""
    def convert(text: str):
        try:
            if f.type is int:
                if len(text.strip().lstrip("+-")) > 40:
                    raise ValueError
                value = int(text)
            else:
                value = float(text)
        except ValueError:
            kind = "a whole number" if f.type is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {_clip(text)}") from None
        if f.type is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {_clip(text)}")
        if f.choices is not None and value not in f.choices:
            shown = ", ".join(f"{c:g}" for c in f.choices)
            raise argparse.ArgumentTypeError(f"must be one of {shown}, got {_clip(text)}")
        if f.lo is not None and not (f.lo <= value <= f.hi):
            raise argparse.ArgumentTypeError(f"{_clip(text)} is out of range [{f.lo:g}, {f.hi:g}]")
        return value
    convert.__name__ = f.type.__name__   # argparse names the type in its messages
    return convert


def _clip(text: str, limit: int = 60) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _num(v, f: Field) -> str:
    return f"{int(v)}" if f.type is int else f"{v:g}"


def help_text(f: Field) -> str:
    unit = f" {f.unit}" if f.unit else ""
    if f.lo is not None:
        rng = f" ({_num(f.lo, f)}–{_num(f.hi, f)}{unit}; default {_num(f.default, f)})"
    elif f.choices is not None and f.type is not str:
        rng = f" ({', '.join(f'{c:g}' for c in f.choices)}; default {f.default:g})"
    elif f.type is str and f.choices is None:
        rng = ""
    else:
        rng = f" (default {f.default})"
    return (f.help + rng).replace("%", "%%")


def add_field_options(parser, fields, *, skip=(), defaults: bool = False):
    """One option per field (`--name-with-dashes`, or the field's own `option`); dest is the
    field's name. With defaults=False an option not given is None (so callers can tell)."""
    for f in fields:
        if f.name in skip or f.flag is None:
            continue
        kw = {"dest": f.name, "help": help_text(f), "default": f.default if defaults else None}
        if f.type is bool:
            parser.add_argument(f.flag, action=argparse.BooleanOptionalAction, **kw)
        elif f.type is str:
            if f.choices is not None:
                kw["choices"] = f.choices
            parser.add_argument(f.flag, metavar=None if f.choices else "TEXT", **kw)
        else:
            metavar = "N" if f.type is int else "X"
            parser.add_argument(f.flag, type=_number(f), metavar=metavar, **kw)
    return parser
