"""Settings dataclasses as command lines and TOML files: one definition, three ways in.

Every field of a settings dataclass becomes a ``--flag`` (underscores as dashes) whose help
text is the field's ``help`` metadata and shows the default; ``--config FILE.toml`` sets any
field, and flags given on the command line win over the file.

Example:
    >>> from dataclasses import dataclass, field
    >>> from trainer.settings import parse
    >>> @dataclass
    ... class S:
    ...     steps: int = field(default=10, metadata={"help": "how many"})
    ...     name: str | None = None
    ...     lora: bool = True
    >>> parse(S, ["--steps", "3", "--no-lora"])
    S(steps=3, name=None, lora=False)
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import tomllib
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _base_type(annotation: Any) -> tuple[type, bool]:
    """The scalar type of a field and whether it may be None (``int | None`` → int, True)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def _parse_list(kind: type):
    def convert(text: str) -> list:
        return [kind(part) for part in text.split(",") if part.strip()]

    return convert


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field of ``cls``; defaults are None so that unset flags can be told apart."""
    hints = typing.get_type_hints(cls)
    own = inspect.get_annotations(cls)  # this class's fields, not its bases'
    fields = dataclasses.fields(cls)
    # the command's own settings first, the ones shared through a base class after them
    for f in [f for f in fields if f.name in own] + [f for f in fields if f.name not in own]:
        kind, _ = _base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", "")
        flag = "--" + f.name.replace("_", "-")
        shown = f"{help_text} (default: {default})".strip()
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=shown)
        elif typing.get_origin(kind) is list:
            (item,) = typing.get_args(kind)
            parser.add_argument(flag, type=_parse_list(item), default=None, help=shown + "; comma-separated")
        else:
            parser.add_argument(flag, type=kind, default=None, help=shown)
    parser.add_argument("--config", help="a TOML file setting any of these (flags win)")


def from_namespace(cls: type[T], args: argparse.Namespace) -> T:
    """``cls`` from the TOML file named by ``args.config`` (if any), overridden by set flags."""
    values: dict[str, Any] = {}
    if getattr(args, "config", None):
        with open(args.config, "rb") as stream:
            values.update(tomllib.load(stream))
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{args.config}: unknown settings {unknown}")
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    return cls(**values)


def parse(cls: type[T], argv: Sequence[str] | None = None, description: str | None = None) -> T:
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser, cls)
    return from_namespace(cls, parser.parse_args(argv))
