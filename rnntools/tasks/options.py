"""A task's options: its defaults (one place), the options a run trains with, and the one resume rule.

Every task package declares ``DEFAULTS`` (option name -> default) and ``STRUCTURAL`` (the names whose value
fixes the network's structure or how data becomes arrays). A default that depends on another option is a
``Per``: ``Per("level", char=64, word=128)`` reads "64 at char level, 128 at word level".

The options a run trains with are ``resolve(DEFAULTS, given)``: what the command line gives (``None`` = not
given) over the defaults. With ``--resume`` the given options first pass through ``resume_options``:
the saved structure wins, a differing structural option is a usage error naming both values, every other
option not given keeps its saved value, except the per-run ones (``RUN_OPTIONS``: limits and outputs of
this run), which take their defaults again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rnntools.errors import UsageError

# options that describe one run, not the model: not inherited on --resume
RUN_OPTIONS = frozenset({"epochs", "max_steps", "max_time", "checkpoint_every", "log_path", "resume", "threads",
                         "encoding_errors"})
# option name -> its flag, where they differ beyond '_' -> '-'
FLAGS = {"vocab_path": "--vocab", "log_path": "--log"}


class Per:
    """A default that depends on the value of another option: ``Per("level", char=64, word=128)``.
    Values may be ``Per`` themselves (``Per("optimizer", adam=Per("level", ...), sgd=1.0)``)."""

    def __init__(self, option: str, **values: Any):
        self.option, self.values = option, values

    def resolve(self, options: Mapping[str, Any]) -> Any:
        value = self.values[options[self.option]]
        return value.resolve(options) if isinstance(value, Per) else value

    def __str__(self) -> str:
        sep = "; " if any(isinstance(v, Per) for v in self.values.values()) else ", "
        return sep.join(f"{k}: {show(v)}" if isinstance(v, Per) else f"{k} {show(v)}"
                        for k, v in self.values.items())

    def __repr__(self) -> str:
        return f"Per({self.option!r}, {', '.join(f'{k}={v!r}' for k, v in self.values.items())})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Per) and (self.option, self.values) == (other.option, other.values)


def show(value: Any) -> str:
    """An option value as the command line writes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(show(v) for v in value)
    return str(value)


def flag(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def resolve(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The options a run uses: ``given`` (None = not given) over ``defaults``; ``Per`` defaults are resolved
    from the values they depend on. Given names the defaults do not list are kept as they are."""
    out = dict(defaults)
    for name, value in given.items():
        if value is not None or name not in out:
            out[name] = value
    for _ in range(len(out) + 1):
        pending = [name for name, value in out.items() if isinstance(value, Per)]
        if not pending:
            return out
        for name in pending:
            if not isinstance(out.get(out[name].option), Per):
                out[name] = out[name].resolve(out)
    raise ValueError(f"defaults depend on each other in a circle: {', '.join(pending)}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def resume_options(saved: Mapping[str, Any], given: Mapping[str, Any], structural: Iterable[str],
                   path: str) -> dict[str, Any]:
    """The options of a ``--resume`` run, before defaults are applied (``resolve``).

    ``saved``: the options the model was trained with (its ``meta["config"]``); ``given``: this command
    line's (None = not given). A structural option takes the saved value; given with another value it is a
    usage error (exit 2) naming the option and both values. Any other option keeps the value given, or if
    not given the saved one, except ``RUN_OPTIONS``."""
    structural = frozenset(structural)
    out = dict(given)
    for name in sorted(structural):
        if name not in saved:
            continue
        value = given.get(name)
        if value is not None and not _same(value, saved[name]):
            raise UsageError(f"{path}: {flag(name)} {show(value)} differs from the saved model's "
                             f"{show(saved[name])} (structural options cannot change on --resume)")
        out[name] = saved[name]
    for name, value in saved.items():
        if name not in structural and name not in RUN_OPTIONS and out.get(name) is None:
            out[name] = value
    return out
