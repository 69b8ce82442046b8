"""The ``neighbors`` command's loop: queries in, JSONL records out, in batches (numpy only)."""

from __future__ import annotations

from rnntools import console
from rnntools.errors import InputError
from rnntools.io import JsonlWriter, iter_jsonl, iter_lines, read_text_field, stdin_idle
from rnntools.w2v.vectors import Query, QueryError, UnknownWords, load, nearest, parse_expression

BATCH = 256


def run_neighbors(model_path: str, queries: list[str], *, k: int = 10, method: str = "add",
                  restrict: int | None = None, input_path: str = "-", field: str | None = None,
                  strict: bool = False, writer: JsonlWriter | None = None) -> int:
    """Answer queries from arguments, or from lines (or JSONL records with ``field``) of ``input_path``;
    returns the number of queries without an answer (unknown words, no words, words that cancel out)."""
    model = load(model_path)
    writer = writer or JsonlWriter()
    unknown = 0
    batch: list[tuple[int | None, dict | None, Query]] = []

    others = 0   # queries without an answer for another reason than unknown words
    replaced = console.ReplacedFields()

    def flush():
        nonlocal unknown, others
        answers = nearest(model, [q for _, _, q in batch], k=k, restrict=restrict, method=method)
        for (line_no, record, query), answer in zip(batch, answers):
            out = dict(record) if record is not None else {"query": query.text}
            if record is not None:
                replaced.check(record, ("error",) if isinstance(answer, QueryError) else ("neighbors",))
            if isinstance(answer, QueryError):
                unknown += 1
                others += not isinstance(answer, UnknownWords)
                message = str(answer)
                if strict:
                    writer.flush()
                    raise InputError(message, input_path if line_no is not None else None, line_no)
                out["error"] = message
            else:
                out["neighbors"] = [{"token": t, "score": round(s, 6)} for t, s in answer]
            writer.write(out)
        writer.flush()
        batch.clear()

    for line_no, record, text in _sources(queries, input_path, field):
        pos, neg = parse_expression(text)
        batch.append((line_no, record, Query(text.strip(), pos, neg)))
        if len(batch) >= BATCH or stdin_idle():
            flush()
    if batch:
        flush()
    replaced.warn()
    if unknown:
        console.warn(f"{unknown} quer{'y' if unknown == 1 else 'ies'} "
                     f"{'without an answer' if others else 'with unknown words'} (records with an \"error\" field)")
    return unknown


def _sources(queries: list[str], input_path: str, field: str | None):
    if queries:
        for text in queries:
            yield None, None, text
        return
    if field is not None:
        for line_no, record in iter_jsonl(input_path):
            yield line_no, record, read_text_field(record, field, input_path, line_no)
        return
    for line_no, text in iter_lines(input_path):
        if text.strip():
            yield line_no, None, text
