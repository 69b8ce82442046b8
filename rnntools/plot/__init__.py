"""Pictures of rnntools' outputs: forecasts, training curves, word maps and confusion matrices.

Every picture comes in two renderings of the same data (``rnntools.plot.data``): plain text for a terminal
(``rnntools.plot.text``, numpy only) and PNG/SVG/PDF through matplotlib (``rnntools.plot.mpl``, the
optional extra ``rnntools[plot]``). The output's extension picks the rendering: none or ``.txt`` is text.
"""

from __future__ import annotations

import os

from rnntools.errors import InputError, UsageError

TEXT_FORMATS = ("txt", "")


def output_format(output: str | None) -> str:
    """'' for text, else the picture format from the file's extension."""
    from rnntools.plot.mpl import FORMATS

    if output in (None, "-"):
        return ""
    ext = os.path.splitext(output)[1].lower().lstrip(".")
    if ext in TEXT_FORMATS:
        return ""
    if ext not in FORMATS:
        raise UsageError(f"{output}: unknown picture format {ext!r}: use .png, .svg, .pdf, or .txt for text")
    return ext


def _read_jsonl(paths: list[str]) -> list[tuple[str, int, dict]]:
    from rnntools.io import iter_jsonl

    return [(path, line, rec) for path in paths for line, rec in iter_jsonl(path)]


def _figure(kind: str, fmt: str, data, size: tuple[float | None, float | None]) -> bytes:
    from rnntools.plot import mpl

    return mpl.render(getattr(mpl, kind)(*data, width=size[0], height=size[1]), fmt)


def _text(kind: str, data, size: tuple[float | None, float | None]) -> str:
    from rnntools.plot import text

    kwargs = {}
    if size[0]:
        kwargs["width"] = int(size[0])
    if size[1]:
        kwargs["height"] = int(size[1])
    if kind == "confusion":
        kwargs = {}
    return "\n".join(getattr(text, kind)(*data, **kwargs)) + "\n"


def draw(kind: str, data: tuple, output: str | None, size: tuple[float | None, float | None] = (None, None)) -> None:
    """Render ``data`` as ``kind`` (forecast, curves, words, confusion) to ``output`` (None: stdout text).

    For pictures, width and height are inches; for text, characters."""
    fmt = output_format(output)
    if fmt:
        write_bytes(output, _figure(kind, fmt, data, size))
    else:
        payload = _text(kind, data, size)
        if output in (None, "-"):
            from rnntools.io import open_output

            with open_output(None) as f:   # a failed write names standard output
                f.write(payload)
        else:
            write_bytes(output, payload.encode("utf-8"))


def write_bytes(path: str, payload: bytes) -> None:
    """Write a picture or text through the output policy (``rnntools.io.open_output``): a regular file is
    replaced atomically, a device or FIFO is written in place (renaming over ``/dev/full`` or
    ``/dev/stdout`` would replace the device with a regular file), a full disk is a one-line error."""
    from rnntools.io import open_output

    with open_output(path, binary=True) as f:
        f.write(payload)


# --- one function per picture, as the CLI calls them -------------------------------------------------

def forecast(inputs: list[str], output: str | None, *, history: list[str] | None = None,
             series: list[str] | None = None, last: int | None = None, size=(None, None), **read_options) -> None:
    from rnntools.plot.data import forecast_panels

    records = _read_jsonl(inputs)
    hist = None
    if history:
        from rnntools.tasks.forecast.series import read_series

        hist = read_series(history, **{k: v for k, v in read_options.items() if v is not None})
    draw("forecast", (forecast_panels(records, hist, last, series),), output, size)


def curves(path: str, output: str | None, *, metrics: list[str] | None = None, size=(None, None)) -> None:
    from rnntools.plot.data import training_curves

    events = [(line, rec) for _, line, rec in _read_jsonl([path])]
    draw("curves", (training_curves(events, path, metrics),), output, size)


def words(model: str, chosen: list[str], output: str | None, *, neighbors: int = 5, size=(None, None)) -> None:
    from rnntools.plot.data import default_words, word_map
    from rnntools.w2v.vectors import load

    vectors = load(model)
    chosen = chosen or default_words(vectors)
    points, explained = word_map(vectors, chosen, neighbors)
    draw("words", (points, explained), output, size)


def confusion(path: str, output: str | None, *, size=(None, None)) -> None:
    from rnntools.io import iter_lines, loads
    from rnntools.plot.data import confusion as read_confusion

    last, line_no = "", None
    for n, line in iter_lines(path, "replace"):  # bounded lines: /dev/zero is an error, not all the memory
        if line.strip():
            last, line_no = line, n
    try:
        summary = loads(last)
    except (ValueError, RecursionError):
        raise InputError("expected the JSON summary that `rnntools evaluate` writes for a classifier", path,
                         line_no) from None
    if not isinstance(summary, dict):
        raise InputError("expected a JSON object", path, line_no)
    draw("confusion", (read_confusion(summary, path, line_no),), output, size)
