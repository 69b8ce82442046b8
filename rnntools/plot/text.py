"""Pictures as plain text, for a terminal or a log: no package beyond numpy, ASCII only.

Each function returns the lines to print. Line charts put one column per x bucket (several points in one
column are averaged) and join neighbouring columns with vertical strokes, so a series reads as a line.
"""

from __future__ import annotations

import math

from rnntools.plot.data import Confusion, Curves, ForecastPanel, WordPoint

WIDTH = 72
HEIGHT = 16


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "nan"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.3g}"
    return f"{v:.4g}"


class Canvas:
    """A character grid with data coordinates: x in [x0, x1] over the columns, y in [y0, y1] over the rows."""

    def __init__(self, width: int, height: int, x0: float, x1: float, y0: float, y1: float):
        self.w, self.h = width, height
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        if not (math.isfinite(y0) and math.isfinite(y1)):
            y0, y1 = 0.0, 1.0
        if not math.isfinite(y1 - y0):  # values near the float limits (1e308 and -1e308): the span overflowed
            y0, y1 = max(y0, -1e307), min(y1, 1e307)
        pad = (y1 - y0) * 0.02 or (abs(y0) * 0.1 or 1.0)
        # no negative axis under values that are all >= 0 (losses, counts, passengers)
        self.y0, self.y1 = (y0 - pad if y0 - pad >= 0 or y0 < 0 else 0.0), y1 + pad
        self.grid = [[" "] * width for _ in range(height)]

    def col(self, x: float) -> int:
        return min(self.w - 1, max(0, int(round((x - self.x0) / (self.x1 - self.x0) * (self.w - 1)))))

    def row(self, y: float) -> int:
        r = int(round((self.y1 - y) / (self.y1 - self.y0) * (self.h - 1)))
        return min(self.h - 1, max(0, r))

    def put(self, c: int, r: int, ch: str, over: str = "") -> None:
        """Draw ch at (c, r) unless a character not listed in ``over`` (and not blank) is there."""
        cur = self.grid[r][c]
        if cur == " " or cur in over:
            self.grid[r][c] = ch

    def columns(self, xs: list[float], ys: list[float]) -> dict[int, float]:
        """Mean y per column, finite values only."""
        acc: dict[int, list[float]] = {}
        for x, y in zip(xs, ys):
            if y is not None and math.isfinite(y):
                acc.setdefault(self.col(x), []).append(y)
        return {c: sum(v) / len(v) for c, v in acc.items()}

    def line(self, xs: list[float], ys: list[float], ch: str, over: str = "") -> None:
        cols = self.columns(xs, ys)
        prev = None
        for c in sorted(cols):
            r = self.row(cols[c])
            if prev is not None and c - prev[0] <= 2:
                lo, hi = sorted((prev[1], r))
                for rr in range(lo + 1, hi):
                    self.put(c if r > prev[1] else c, rr, ch, over)
            self.put(c, r, ch, over)
            prev = (c, r)

    def band(self, xs: list[float], lo: list[float], hi: list[float], ch: str, over: str = "") -> None:
        clo, chi = self.columns(xs, lo), self.columns(xs, hi)
        for c in clo:
            if c in chi:
                for r in range(self.row(chi[c]), self.row(clo[c]) + 1):
                    self.put(c, r, ch, over)

    def vline(self, x: float, ch: str = "|") -> None:
        c = self.col(x)
        for r in range(self.h):
            self.put(c, r, ch)

    def render(self, left: str = "", bottom: tuple[str, str] | None = None) -> list[str]:
        """The grid with a y axis (top, middle and bottom values) and optional x labels at both ends."""
        labels = {0: _fmt(self.y1), self.h // 2: _fmt((self.y0 + self.y1) / 2), self.h - 1: _fmt(self.y0)}
        lw = max(len(v) for v in labels.values())
        out = []
        for r, cells in enumerate(self.grid):
            out.append(f"{labels.get(r, ''):>{lw}} |" + "".join(cells).rstrip())
        out.append(" " * lw + " +" + "-" * self.w)
        if bottom:
            a, b = bottom
            gap = max(1, self.w - len(a) - len(b))
            out.append(" " * (lw + 2) + a + " " * gap + b)
        return out


def forecast(panels: list[ForecastPanel], width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """Each series: history '*', forecast 'o', the narrower interval ':' inside the wider one '.'."""
    out: list[str] = []
    h = height if len(panels) == 1 else max(8, min(height, 40 // max(1, len(panels)) + 4))
    for p in panels:
        xs = p.history_x + p.forecast_x
        ys = p.history_y + p.forecast_y + [v for b in p.bands for v in b.lower + b.upper]
        finite = [y for y in ys if y is not None and math.isfinite(y)]
        canvas = Canvas(width, h, min(xs), max(xs), min(finite, default=0.0), max(finite, default=1.0))
        marks = [".", ":"]
        for i, b in enumerate(p.bands):  # widest first
            canvas.band(p.forecast_x, b.lower, b.upper, marks[min(i, 1)], over=".")
        canvas.line(p.history_x, p.history_y, "*", over=".:")
        canvas.line(p.forecast_x, p.forecast_y, "o", over=".:*")
        first, last = p.labels.get(min(xs), str(min(xs))), p.labels.get(max(xs), str(max(xs)))
        legend = "* history  o forecast" + "".join(f"  {marks[min(i, 1)]} {b.level}% interval"
                                                    for i, b in reversed(list(enumerate(p.bands))))
        out.append(f"{p.id}  ({legend})")
        out.extend(canvas.render(bottom=(str(first), str(last))))
        out.append("")
    return out[:-1]


def curves(data: Curves, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    out: list[str] = []
    marks = "*o+x#"
    for panel in ("loss", "metric"):
        cs = [c for c in data.curves if c.panel == panel]
        if not cs:
            continue
        xs = [x for c in cs for x in c.x]
        ys = [y for c in cs for y in c.y if math.isfinite(y)]
        canvas = Canvas(width, height if panel == "loss" else max(8, height // 2), min(xs), max(xs),
                        min(ys, default=0.0), max(ys, default=1.0))
        for i, c in enumerate(cs):
            canvas.line(c.x, c.y, marks[i % len(marks)])
        legend = "  ".join(f"{marks[i % len(marks)]} {c.name}" for i, c in enumerate(cs))
        out.append(legend)
        out.extend(canvas.render(bottom=(_fmt(min(xs)), f"{_fmt(max(xs))} {data.x_label}")))
        out.append("")
    return out[:-1]


def words(points: list[WordPoint], explained: list[float], width: int = WIDTH, height: int = 24) -> list[str]:
    """Words at their 2-D positions; chosen words in capitals. A word that would overwrite another moves a
    row up or down; if it still does not fit it is listed under the map."""
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    canvas = Canvas(width, height, min(xs), max(xs), min(ys), max(ys))
    left_out = []
    # chosen words first, so they get their places
    for p in sorted(points, key=lambda p: not p.chosen):
        text = p.word.upper() if p.chosen else p.word
        c = min(canvas.col(p.x), max(0, width - len(text)))
        r0 = canvas.row(p.y)
        # a word wider than the map (`--width 3`) has no place on it: it was written past the grid's edge
        for r in (r0, r0 - 1, r0 + 1, r0 - 2, r0 + 2) if len(text) <= width else ():
            span = range(max(0, c - 1), min(width, c + len(text) + 1))
            if 0 <= r < height and all(canvas.grid[r][k] == " " for k in span):
                for k, ch in enumerate(text):
                    canvas.grid[r][c + k] = ch
                break
        else:
            left_out.append(text)
    out = [f"PCA of {len(points)} word vectors (x {explained[0]:.0%}, y {explained[1]:.0%} of the variance); "
           "chosen words in capitals"]
    out.extend(canvas.render())
    if left_out:
        out.append("not shown (no room): " + ", ".join(left_out))
    return out


def confusion(cm: Confusion) -> list[str]:
    """Counts, rows true and columns predicted (numbered as the rows), with each row's recall."""
    n = len(cm.labels)
    lw = max(len(s) for s in cm.labels) + len(str(n)) + 1
    cw = max(3, len(str(int(cm.counts.max(initial=0)))) + 1)
    head = " " * (lw + 1) + "".join(f"{j:>{cw}}" for j in range(n)) + "  recall"
    title = "confusion: rows true, columns predicted" + (f"; accuracy {cm.accuracy:.4g}" if cm.accuracy is not None
                                                          else "")
    out = [title, head]
    for i, label in enumerate(cm.labels):
        total = int(cm.counts[i].sum())
        recall = f"{cm.counts[i, i] / total:.2f}" if total else "-"
        cells = "".join(f"{int(v) if v else '.':>{cw}}" for v in cm.counts[i])
        out.append(f"{f'{i} {label}':<{lw}} {cells}  {recall:>6}")
    return out
