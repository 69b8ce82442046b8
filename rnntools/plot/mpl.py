"""Pictures as PNG, SVG or PDF through matplotlib (the optional extra ``rnntools[plot]``).

matplotlib is imported here only, with the Agg backend (no display needed), so the rest of rnntools
never pays for it. Each function returns a Figure; :func:`render` turns it into the file's bytes.
"""

from __future__ import annotations

import io
import math

from rnntools.errors import UsageError, interrupted_within
from rnntools.plot.data import Confusion, Curves, ForecastPanel, WordPoint

FORMATS = ("png", "svg", "pdf")


def pyplot():
    import os

    # matplotlib validates MPLBACKEND when it is imported: a backend of another setting (a notebook's
    # module://matplotlib_inline..., a misspelt one) was an internal error; pictures here are drawn by Agg anyway
    backend = os.environ.pop("MPLBACKEND", None)
    with _one_line_warnings():
        try:
            import matplotlib
        except ImportError as exc:
            if interrupted_within(exc):
                raise KeyboardInterrupt from None
            raise UsageError("PNG, SVG and PDF pictures need matplotlib: pip install 'rnntools[plot]' "
                             "(or leave out -o to draw in the terminal)") from None
        finally:
            if backend is not None:
                os.environ["MPLBACKEND"] = backend
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

    # fixed metadata, so the same input gives the same SVG/PDF bytes
    plt.rcParams["svg.hashsalt"] = "rnntools"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, and words can be searched
    return plt


class _one_line_warnings:
    """matplotlib's own warnings while it is imported, as one warning line of ours: an ``MPLCONFIGDIR`` (or home)
    it cannot write printed two paragraphs through Python's last-resort logging handler ("mkdir -p failed for
    path /proc/x: ...", then "Matplotlib created a temporary cache directory at ... it is highly recommended to
    set the MPLCONFIGDIR environment variable to a writable directory, in particular to speed up the import of
    Matplotlib and to better support multiprocessing.")."""

    def __enter__(self):
        import logging

        self.records = []
        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = self.records.append
        self.logger = logging.getLogger("matplotlib")
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        if self.records:
            from rnntools import console

            said = []
            for record in self.records:
                text = " ".join(record.getMessage().split())
                said.append(text.split("; it is highly recommended")[0])
            console.warn("matplotlib: " + "; ".join(dict.fromkeys(said)) + " (set MPLCONFIGDIR to a folder it can "
                         "write)")
        return False


def render(fig, fmt: str, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
    pyplot().close(fig)
    return buf.getvalue()


def _tick_labels(ax, panel: ForecastPanel, n: int = 5) -> None:
    xs = sorted(panel.labels)
    if not xs:
        return
    step = max(1, math.ceil(len(xs) / n))
    ticks = xs[::step]
    ax.set_xticks(ticks)
    ax.set_xticklabels([panel.labels[x] for x in ticks], rotation=0, fontsize=8)


def forecast(panels: list[ForecastPanel], width: float | None = None, height: float | None = None):
    plt = pyplot()
    n = len(panels)
    cols = 1 if n == 1 else min(3, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    w = width or (8 if n == 1 else 4.2 * cols)
    h = height or (3.6 if n == 1 else 2.6 * rows)
    fig, axes = plt.subplots(rows, cols, figsize=(w, h), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, panels):
        for i, b in enumerate(p.bands):  # widest first, lighter
            ax.fill_between(p.forecast_x, b.lower, b.upper, color="tab:blue", alpha=0.15 if i == 0 and
                            len(p.bands) > 1 else 0.3, linewidth=0, label=f"{b.level}% interval")
        if p.history_x:
            ax.plot(p.history_x, p.history_y, color="black", linewidth=1, label="history")
        ax.plot(p.forecast_x, p.forecast_y, color="tab:blue", linewidth=1.5, label="forecast")
        if p.forecast_x:
            ax.axvline(p.forecast_x[0] - 0.5, color="grey", linewidth=0.6, linestyle=":")
        ax.set_title(p.id, fontsize=10)
        ax.tick_params(labelsize=8)
        _tick_labels(ax, p, 5 if cols == 1 else 3)
        ax.grid(alpha=0.3)
    if n == 1:
        axes.flat[0].legend(fontsize=8, loc="upper left", frameon=False)
        fig.tight_layout()
    else:
        # one legend for all panels, above them, so it covers no series
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / h))
    return fig


def curves(data: Curves, width: float | None = None, height: float | None = None):
    plt = pyplot()
    panels = [p for p in ("loss", "metric") if any(c.panel == p for c in data.curves)]
    fig, axes = plt.subplots(1, len(panels), figsize=(width or 4.5 * len(panels), height or 3.4), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for c in (c for c in data.curves if c.panel == panel):
            marker = "o" if c.name.startswith("validation") and len(c.x) < 60 else None
            ax.plot(c.x, c.y, marker=marker, markersize=3, linewidth=1.2, label=c.name)
        ax.set_xlabel(data.x_label)
        ax.set_ylabel("loss" if panel == "loss" else "validation metric")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    if data.title:
        fig.suptitle(data.title, fontsize=10)
    fig.tight_layout()
    return fig


def words(points: list[WordPoint], explained: list[float], width: float | None = None,
          height: float | None = None):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(width or 7, height or 6))
    cmap = plt.get_cmap("tab10")
    for p in points:
        ax.scatter([p.x], [p.y], s=30 if p.chosen else 12, color=cmap(p.group % 10), zorder=3)
    for p, (dx, dy) in zip(points, _label_offsets(points, fig, ax)):
        ax.annotate(p.word, (p.x, p.y), xytext=(dx, dy), textcoords="offset points", color=cmap(p.group % 10),
                    fontsize=10 if p.chosen else 8, fontweight="bold" if p.chosen else "normal")
    ax.set_xlabel(f"first principal component ({explained[0]:.0%} of the variance)")
    ax.set_ylabel(f"second principal component ({explained[1]:.0%})")
    ax.set_title("chosen words (bold) and their nearest neighbours", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _label_offsets(points: list[WordPoint], fig, ax) -> list[tuple[float, float]]:
    """Offsets in points for each word's label: up and to the right of its dot, unless that box overlaps
    a label already placed, then the first free one of a few other spots (greedy, chosen words first)."""
    fig.canvas.draw()
    to_px = ax.transData.transform
    scale = fig.dpi / 72  # points -> pixels
    placed: list[tuple[float, float, float, float]] = []
    spots = [(3, 3), (3, -11), (-3, 3), (-3, -11), (3, 10), (3, -18), (-3, 10), (-3, -18)]
    out: list[tuple[float, float]] = [(3, 3)] * len(points)
    for i in sorted(range(len(points)), key=lambda i: not points[i].chosen):
        p = points[i]
        x, y = to_px((p.x, p.y))
        w = len(p.word) * (6.5 if p.chosen else 5.2) * scale
        h = (10 if p.chosen else 8) * scale
        for dx, dy in spots:
            x0 = x + dx * scale if dx >= 0 else x + dx * scale - w
            box = (x0, y + dy * scale, x0 + w, y + dy * scale + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        out[i] = (dx if dx >= 0 else dx - w / scale, dy)
    return out


def confusion(cm: Confusion, width: float | None = None, height: float | None = None):
    plt = pyplot()
    n = len(cm.labels)
    size = max(4.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(width or size + 1, height or size))
    totals = cm.counts.sum(axis=1, keepdims=True)
    share = cm.counts / (totals + (totals == 0))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if cm.counts[i, j]:
                ax.text(j, i, str(int(cm.counts[i, j])), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(cm.labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(cm.labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    title = "confusion matrix (colour: share of the true class)"
    if cm.accuracy is not None:
        title += f"; accuracy {cm.accuracy:.3g}"
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig
