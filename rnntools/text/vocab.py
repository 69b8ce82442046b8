"""Vocabularies: count tokens, prune, add the special tokens, map tokens to ids and back.

Ids are positions in ``tokens``. When a vocabulary has specials (the default), they come first, in this
order, so every task can rely on the ids:

    0 <pad>   padding in batches of unequal lengths
    1 <unk>   any token not in the vocabulary
    2 <s>     START: the first input of a decoder or generator
    3 </s>    EOS: end of a sequence; generation stops when it is produced

The other tokens follow by count (most frequent first), ties broken by the token's code points, so the same
corpus always gives the same ids. ``--max-size`` counts the ordinary tokens only.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from operator import add
from typing import TYPE_CHECKING

from rnntools.errors import InputError
from rnntools.text.tokenize import PHRASE_WORD_RE, nfc, phrase_tokenizer, tokenize_chars, tokenize_words, word_lines

if TYPE_CHECKING:
    import numpy as np

try:
    # Counter.update's C loop without its per-call type checks, which cost a quarter of counting time
    from collections import _count_elements
except ImportError:  # pragma: no cover - other Pythons
    def _count_elements(mapping, iterable):
        for element in iterable:
            mapping[element] = mapping.get(element, 0) + 1

PAD, UNK, START, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, START, EOS)
LEVELS = ("word", "char")
FILE_FORMAT = "rnntools-vocab"
# what JSON escapes in a string when non-ASCII is written as it is (json's encoder with ensure_ascii=False)
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
FILE_VERSION = 1


class TokenCounter:
    """Counts tokens and document frequencies (a document is a line) over batches of lines."""

    def __init__(self, level: str = "word", lowercase: bool = True):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.level, self.lowercase = level, lowercase
        self.counts: Counter[str] = Counter()
        self.doc_freq: Counter[str] = Counter()
        self.documents = 0

    def add_lines(self, lines: Sequence[str], folded: bool = False) -> None:
        """Count lines (each a document); ``folded`` says they are lowercased already where needed."""
        counts, doc_freq = self.counts, self.doc_freq
        lower = self.lowercase and not folded
        if self.level == "word":
            for tokens in word_lines(lines, lower):
                _count_elements(counts, tokens)
                _count_elements(doc_freq, set(tokens))
        else:
            for line in lines:
                text = line.lower() if lower else line
                _count_elements(counts, text)
                _count_elements(doc_freq, set(text))
            # a character LM sees the line breaks too
            counts["\n"] += len(lines)
            doc_freq["\n"] += len(lines)
        self.documents += len(lines)

    def add_text(self, text: str) -> None:
        """Count a chunk of whole lines separated by ``\\n`` (as ``rnntools.io.iter_text_chunks`` gives)."""
        # one lower() for the chunk instead of one per line
        lines = (text.lower() if self.lowercase else text).split("\n")
        if text.endswith("\n"):
            lines.pop()
        self.add_lines(lines, folded=True)

    def update(self, other: TokenCounter) -> None:
        _add_counts(self.counts, other.counts)
        _add_counts(self.doc_freq, other.doc_freq)
        self.documents += other.documents

    def count_files(self, runs: Sequence[Sequence], errors: str = "strict") -> None:
        """Count files given as runs of line-aligned ranges (``rnntools.io.split_files``): the first here,
        each other in a forked helper process that reads its run itself, so no text passes between processes,
        only each helper's counts at the end.

        Why not hand chunks to the helpers (``count_chunks``): this process then reads and decodes the whole
        input and pickles half of it through a pipe, and the halves end unevenly; with each process reading
        its own half both finish together. A helper's error is never shown as it is: its range starts at a
        line whose number it does not know, so this process counts that run itself, in order, and the error
        names the file's own line, as a single process would."""
        from rnntools.io import iter_text_chunks

        pending = []  # the helpers not waited for yet: (pid, pipe)
        try:
            for run in runs[1:]:
                pending.append(_fork_counter(self.level, self.lowercase, run, errors))
            for part in runs[0]:
                for _, _, text in iter_text_chunks(part, errors):
                    self.add_text(text)
            for run in runs[1:]:
                result = _helper_result(*pending.pop(0))
                if result is None:  # it met an error: count its run here, its lines numbered
                    from rnntools.io import numbered

                    for part in run:
                        for _, _, text in iter_text_chunks(numbered(part), errors):
                            self.add_text(text)
                else:
                    _add_counts(self.counts, result[0])
                    _add_counts(self.doc_freq, result[1])
                    self.documents += result[2]
        finally:
            for pid, fd in pending:  # on an error or Ctrl-C here: stopped, never left behind
                _stop_helper(pid, fd)

    def count_chunks(self, chunks: Iterable[str], workers: int = 1) -> None:
        """Count text chunks, in ``workers`` processes when more than one.

        Counting is CPU-bound Python (regex, Counter): processes, not threads, are what scale. The reader
        stays in this process (so decoding errors still name file and line) and counts one chunk in
        ``workers`` itself: ``workers - 1`` helper processes get the others through a bounded queue, so
        memory stays flat however long the input, and send their counts back once. (A reader that only
        handed chunks out would idle, and one more process would be started, pickled back and merged.)
        """
        if workers <= 1:
            for text in chunks:
                self.add_text(text)
            return
        import itertools
        import multiprocessing
        import queue

        context = multiprocessing.get_context("fork")
        tasks = context.Queue(maxsize=2 * workers)
        results = context.Queue()
        helpers = workers - 1
        procs = [context.Process(target=_count_worker, args=(self.level, self.lowercase, tasks, results),
                                 daemon=True) for _ in range(helpers)]
        from rnntools.parallel import held_for_fork

        for proc in procs:
            with held_for_fork():
                proc.start()

        def check_workers():
            if any(proc.exitcode not in (None, 0) for proc in procs):
                from rnntools.errors import RnnToolsError

                raise RnnToolsError("a counting worker process died (out of memory? try --threads 1)")

        try:
            for i, text in enumerate(itertools.chain(chunks, [None] * helpers)):
                if text is not None and i % workers == helpers:  # this process's share (the helpers' first)
                    self.add_text(text)
                    continue
                while True:
                    try:
                        tasks.put(text, timeout=1.0)
                        break
                    except queue.Full:
                        check_workers()
            pending = helpers
            while pending:
                try:
                    self.update(results.get(timeout=1.0))
                    pending -= 1
                except queue.Empty:
                    check_workers()
            for proc in procs:
                proc.join()
        finally:
            # on an error or Ctrl-C the workers stop here, never left behind
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
            tasks.cancel_join_thread()

    def vocab(self, *, min_count: int = 1, max_size: int | None = None, specials: bool = True) -> Vocab:
        return Vocab.build(self.counts, level=self.level, lowercase=self.lowercase, min_count=min_count,
                           max_size=max_size, specials=specials, doc_freq=self.doc_freq,
                           documents=self.documents)


def _add_counts(counts: dict, more: Mapping[str, int]) -> None:
    """``counts.update(more)`` of a Counter (counts summed), its loop in C: merging the counts of another
    process's half of a corpus was a Python loop over every word."""
    keys = list(more)
    dict.update(counts, zip(keys, map(add, map(counts.get, keys, repeat(0)), more.values())))


def _fork_counter(level: str, lowercase: bool, run: Sequence, errors: str) -> tuple[int, int]:
    """A forked process counting ``run`` (ranges of files); returns its pid and the pipe its counts come by."""
    import pickle

    from rnntools.io import iter_text_chunks
    from rnntools.parallel import held_for_fork

    read_end, write_end = os.pipe()
    try:
        with held_for_fork():
            pid = os.fork()
    except BaseException:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:  # the child: never returns into the caller's stack
        from rnntools.parallel import worker_signals

        worker_signals()
        os.close(read_end)
        counter = TokenCounter(level, lowercase)
        try:
            for part in run:
                for _, _, text in iter_text_chunks(part, errors):
                    counter.add_text(text)
            result = (dict(counter.counts), dict(counter.doc_freq), counter.documents)
        except Exception:  # noqa: BLE001 - the parent counts this run again and reports the error
            result = None
        with os.fdopen(write_end, "wb") as out:
            pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)


def _stop_helper(pid: int, fd: int) -> None:
    import signal

    os.close(fd)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _helper_result(pid: int, fd: int):
    """What the helper ``pid`` sent through ``fd`` once it has ended: its counts, or None after an error."""
    import pickle

    try:
        pipe = os.fdopen(fd, "rb")
    except BaseException:
        _stop_helper(pid, fd)
        raise
    try:
        with pipe:
            data = pipe.read()
    except BaseException:
        import signal

        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        from rnntools.errors import RnnToolsError

        raise RnnToolsError("a counting worker process died (out of memory? try --threads 1)")
    return pickle.loads(data)


def _count_worker(level: str, lowercase: bool, tasks, results) -> None:
    from rnntools.parallel import worker_signals

    worker_signals()
    counter = TokenCounter(level, lowercase)
    while (text := tasks.get()) is not None:
        counter.add_text(text)
    results.put(counter)


class Vocab:
    """Tokens with ids, counts and document frequencies, and how text is split into them."""

    def __init__(self, tokens: Sequence[str], counts: Sequence[int] | None = None,
                 doc_freq: Sequence[int] | None = None, *, level: str = "word", lowercase: bool = True,
                 n_special: int = 0, documents: int = 0):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.tokens = list(tokens)
        n = len(self.tokens)
        # held as lists of ints (vocab and bow never need numpy, whose import is a good part of a short
        # run); ``counts`` and ``doc_freq`` give them as int64 arrays
        self._counts, self._doc_freq = _int_list(counts, n), _int_list(doc_freq, n)
        if len(self._counts) != n or len(self._doc_freq) != n:
            raise ValueError("counts and doc_freq must have one entry per token")
        self._arrays: dict[str, np.ndarray] = {}
        self.level, self.lowercase, self.documents = level, lowercase, int(documents)
        self.n_special = int(n_special)
        if self.n_special and tuple(self.tokens[: self.n_special]) != SPECIALS[: self.n_special]:
            raise ValueError(f"the first {self.n_special} tokens must be {SPECIALS[: self.n_special]}")
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != n:
            raise ValueError("tokens must be unique")

    @property
    def counts(self) -> np.ndarray:
        """Each token's count, (V,) int64."""
        return self._array("counts", self._counts)

    @property
    def doc_freq(self) -> np.ndarray:
        """How many documents (lines) each token occurs in, (V,) int64."""
        return self._array("doc_freq", self._doc_freq)

    def _array(self, name: str, values: list[int]) -> np.ndarray:
        if name not in self._arrays:
            import numpy as np

            self._arrays[name] = np.array(values, dtype=np.int64)
        return self._arrays[name]

    # -- building -----------------------------------------------------------------------------------------

    @classmethod
    def build(cls, counts: Mapping[str, int], *, level: str = "word", lowercase: bool = True,
              min_count: int = 1, max_size: int | None = None, specials: bool = True,
              doc_freq: Mapping[str, int] | None = None, documents: int = 0) -> Vocab:
        """A vocabulary of the tokens counted at least ``min_count`` times, the ``max_size`` most frequent."""
        # by count, most frequent first, ties by the token: sorted by token, then stably by count (a sort
        # keyed by (-count, token) tuples was 5x slower, most of building a 30,000-word vocabulary)
        kept = sorted(counts)
        if any(token in counts for token in SPECIALS):
            kept = [token for token in kept if token not in SPECIALS]
        if counts and min(counts.values()) < min_count:
            kept = [token for token in kept if counts[token] >= min_count]
        kept.sort(key=counts.__getitem__, reverse=True)  # reverse keeps equal keys in order (stable)
        if max_size is not None:
            del kept[max_size:]
        head = list(SPECIALS) if specials else []
        freq = [0] * len(head) + list(map(counts.__getitem__, kept))
        dfs = [0] * len(head) + list(map((doc_freq or {}).get, kept, repeat(0)))
        return cls(head + kept, freq, dfs, level=level, lowercase=lowercase, n_special=len(head),
                   documents=documents)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, level: str = "word", lowercase: bool | None = None,
                   min_count: int = 1, max_size: int | None = None, specials: bool = True) -> Vocab:
        """Count ``texts`` (each one document) and build; lowercase defaults to True for words, False for chars."""
        if lowercase is None:
            lowercase = level == "word"
        counter = TokenCounter(level, lowercase)
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= 4096:
                counter.add_lines(batch)
                batch = []
        counter.add_lines(batch)
        if level == "char":
            # texts are whole documents here, not lines of one: no implicit line breaks
            counter.counts["\n"] -= counter.documents
            counter.doc_freq["\n"] -= counter.documents
            counter.counts = +counter.counts
        return counter.vocab(min_count=min_count, max_size=max_size, specials=specials)

    # -- ids ------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, level={self.level!r}, lowercase={self.lowercase})"

    def _special_id(self, token: str) -> int:
        if token not in self.index or self.index[token] >= self.n_special:
            raise ValueError(f"this vocabulary has no {token} token")
        return self.index[token]

    @property
    def pad_id(self) -> int:
        return self._special_id(PAD)

    @property
    def unk_id(self) -> int:
        return self._special_id(UNK)

    @property
    def start_id(self) -> int:
        return self._special_id(START)

    @property
    def eos_id(self) -> int:
        return self._special_id(EOS)

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` the way this vocabulary was counted."""
        if self.level == "word":
            return tokenize_words(text, self.lowercase)
        return tokenize_chars(text, self.lowercase)

    def tokenize_lines(self, lines: Sequence[str]) -> Iterator[list[str]]:
        """``tokenize`` of each line, in order (word lines of ASCII text without the regex: faster)."""
        if self.level == "word":
            return word_lines(lines, self.lowercase)
        return (tokenize_chars(line, self.lowercase) for line in lines)

    def encode(self, text_or_tokens: str | Iterable[str]) -> np.ndarray:
        """Token ids (int32). Unknown tokens become ``<unk>``; without specials they are dropped."""
        tokens = self.tokenize(text_or_tokens) if isinstance(text_or_tokens, str) else text_or_tokens
        get = self.index.get
        if self.n_special > 1:
            unk = self.unk_id
            ids = [get(token, unk) for token in tokens]
        else:
            ids = [i for i in map(get, tokens) if i is not None]
        import numpy as np

        return np.array(ids, dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, specials left out: characters joined, words joined by spaces."""
        tokens = [self.tokens[i] for i in ids if i >= self.n_special]
        return ("" if self.level == "char" else " ").join(tokens)

    # -- files and model metadata -------------------------------------------------------------------------

    def header(self) -> dict:
        return {"format": FILE_FORMAT, "version": FILE_VERSION, "level": self.level, "lowercase": self.lowercase,
                "documents": self.documents, "size": len(self), "specials": self.n_special,
                "total": sum(self._counts)}

    def records(self) -> Iterator[dict]:
        for i, token in enumerate(self.tokens):
            record = {"token": token, "id": i, "count": self._counts[i], "df": self._doc_freq[i]}
            if i < self.n_special:
                record["special"] = True
            yield record

    def write(self, writer) -> None:
        """Write as JSONL: a header object, then one ``{"token", "id", "count", "df"}`` per token.

        The token records are formatted here, the token string being the only part that needs JSON
        escaping (the same bytes as ``writer.write(record)`` for each of ``records()``): one json.dumps per
        record was 40% of a 1M-word ``vocab`` run."""
        import json

        writer.write(self.header())
        counts, dfs, n_special = self._counts, self._doc_freq, self.n_special
        if _NEEDS_ESCAPE.search("".join(self.tokens)):
            quote = json.JSONEncoder(ensure_ascii=False).encode
            lines = [f'{{"token": {quote(token)}, "id": {i}, "count": {counts[i]}, "df": {dfs[i]}'
                     + (', "special": true}\n' if i < n_special else "}\n")
                     for i, token in enumerate(self.tokens)]
        else:  # no token needs escaping (words never do): quoted as they are, the same text
            lines = [f'{{"token": "{token}", "id": {i}, "count": {counts[i]}, "df": {dfs[i]}'
                     + (', "special": true}\n' if i < n_special else "}\n")
                     for i, token in enumerate(self.tokens)]
        writer.write_text("".join(lines))

    @classmethod
    def read(cls, path: str | os.PathLike) -> Vocab:
        """Read a vocabulary file written by ``rnntools vocab`` (or any JSONL of ``{"token", "count"}``)."""
        from rnntools.io import iter_text_chunks

        header: dict = {}
        seen: set[str] = set()  # the tokens so far, to name a token's second line
        tokens: list[str] = []
        counts: list[int] = []
        dfs: list[int] = []
        for first, _, text in iter_text_chunks(path):
            if not header and not tokens:  # the header line (or the first record) is read on its own
                head, _, text = text.partition("\n")
                _read_record(path, first, head, header, tokens, counts, dfs, seen)
                first += 1
            written = _written_records(text, len(tokens))
            if written is not None:
                _check_tokens(path, first, header, written[0], written[2], tokens, seen)
                tokens += written[0]
                counts += written[1]
                dfs += written[2]
                continue
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            for line_no, line in enumerate(lines, first):
                _read_record(path, line_no, line, header, tokens, counts, dfs, seen)
        if not tokens:
            raise InputError("empty vocabulary file (no token records)", path)
        n_special = 0
        while n_special < len(SPECIALS) and n_special < len(tokens) and tokens[n_special] == SPECIALS[n_special]:
            n_special += 1
        level = header.get("level", "word")
        if level not in LEVELS:
            raise InputError(f"unknown level {level!r} in the header", path, 1)
        documents, lowercase = header.get("documents", 0), header.get("lowercase", level == "word")
        # a hand-edited header: "documents": "x" was Python's "invalid literal for int()", "lowercase": "no" true
        if isinstance(documents, bool) or not isinstance(documents, int) or not 0 <= documents < 2**63:
            raise InputError(f"\"documents\" in the header should be a whole number of at least 0, got "
                             f"{documents!r}", path, 1)
        if not isinstance(lowercase, bool):
            raise InputError(f"\"lowercase\" in the header should be true or false, got {lowercase!r}", path, 1)
        try:
            return cls(tokens, counts, dfs, level=level, lowercase=lowercase, n_special=n_special, documents=documents)
        except ValueError as exc:
            raise InputError(str(exc), path) from None

    def to_meta(self, counts: bool = True) -> dict:
        """JSON-able description for a model file's metadata; ``from_meta`` reads it back."""
        meta = {"level": self.level, "lowercase": self.lowercase, "n_special": self.n_special,
                "documents": self.documents, "tokens": self.tokens}
        if counts:
            meta["counts"] = list(self._counts)
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping, *, specials: bool = False) -> Vocab:
        """The vocabulary ``to_meta`` described, checked entry by entry: a model file's metadata may have been
        edited by hand, and a token that is not a string (a number, null), a count below 0 or a ``lowercase``
        that is not true or false was taken as it was (internal errors wherever the token was used, every
        text read lowercased for ``"lowercase": "no"``). ``specials``: the model needs all four special
        tokens (every network's vocabulary; a classifier without ``<unk>`` was an internal error). A ValueError
        says which entry is wrong (the tasks' loaders report it as a corrupt model file)."""
        if not isinstance(meta, Mapping):
            raise ValueError(f"the vocabulary is {type(meta).__name__}, expected an object")
        tokens, counts = meta["tokens"], meta.get("counts")
        if not isinstance(tokens, list) or not tokens:
            raise ValueError("the vocabulary's tokens are not a non-empty list")
        bad = next((t for t in tokens if not isinstance(t, str)), "")
        if bad != "":
            raise ValueError(f"the vocabulary holds a token that is not a string: {bad!r}")
        if counts is not None:
            if not isinstance(counts, list) or len(counts) != len(tokens):
                raise ValueError(f"the vocabulary has {len(tokens)} tokens and "
                                 f"{len(counts) if isinstance(counts, list) else 'no list of'} counts")
            bad = next((c for c in counts if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < 2**63),
                       None)
            if bad is not None:
                raise ValueError(f"the vocabulary's counts should be whole numbers of at least 0, got {bad!r}")
        lowercase, n_special, documents = meta["lowercase"], meta.get("n_special", 0), meta.get("documents", 0)
        if not isinstance(lowercase, bool):
            raise ValueError(f"the vocabulary's \"lowercase\" should be true or false, got {lowercase!r}")
        for name, value, high in (("n_special", n_special, len(SPECIALS)), ("documents", documents, 2**63 - 1)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
                raise ValueError(f"the vocabulary's \"{name}\" should be a whole number from 0 to {high}, "
                                 f"got {value!r}")
        if specials and n_special != len(SPECIALS):
            raise ValueError(f"the vocabulary's \"n_special\" is {n_special}; a network's vocabulary starts with "
                             f"the {len(SPECIALS)} special tokens")
        if meta["level"] == "char" and (bad := _multi_char(tokens[n_special:])) is not None:
            token = tokens[n_special + bad]
            raise ValueError(f"the vocabulary is char-level, but holds the token {token!r} of {len(token)} characters")
        return cls(tokens, counts, None, level=meta["level"], lowercase=lowercase, n_special=n_special,
                   documents=documents)


def _int_list(values, n: int) -> list[int]:
    """``values`` (a sequence or array of whole numbers; None: n zeros) as a list of Python ints."""
    if values is None:
        return [0] * n
    return list(map(int, values.tolist() if hasattr(values, "tolist") else values))


def merge_counts(vocabs: Iterable[Vocab]) -> TokenCounter:
    """Sum the counts, document frequencies and documents of vocabularies counted on shards."""
    merged: TokenCounter | None = None
    for vocab in vocabs:
        if merged is None:
            merged = TokenCounter(vocab.level, vocab.lowercase)
        elif (vocab.level, vocab.lowercase) != (merged.level, merged.lowercase):
            raise ValueError("cannot merge vocabularies counted with different --level or case settings")
        start = vocab.n_special
        merged.counts.update(dict(zip(vocab.tokens[start:], vocab._counts[start:])))
        merged.doc_freq.update(dict(zip(vocab.tokens[start:], vocab._doc_freq[start:])))
        merged.documents += vocab.documents
    if merged is None:
        raise ValueError("nothing to merge")
    return merged


# a token record exactly as ``Vocab.write`` formats it: a JSON string without control characters, and
# whole numbers without leading zeros of at most 19 digits (below 2**63 is checked after)
_JSON_STRING = r'"([^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*)"'
_WHOLE = r"(0|[1-9][0-9]{0,18})"
_WRITTEN_RECORD = re.compile(rf'^\{{"token": {_JSON_STRING}, "id": {_WHOLE}, "count": {_WHOLE}, "df": {_WHOLE}'
                             r'(?:, "special": true)?\}$', re.MULTILINE)


def _written_records(text: str, first_id: int) -> tuple[list[str], list[int], list[int]] | None:
    """Tokens, counts and document frequencies of a chunk of lines that are all token records as
    ``Vocab.write`` formats them, with ids from ``first_id`` on; None when any line is anything else.

    One regex pass reads what one JSON parse and half a dozen checks per line read otherwise (a
    30,000-word vocabulary: 0.03 s instead of 0.15 s, most of what `bow` spent before its first line). A
    chunk that is not exactly this goes through ``_read_record`` line by line, which names the bad line."""
    if not text:
        return [], [], []
    rows = _WRITTEN_RECORD.findall(text)
    if len(rows) != text.count("\n") + (not text.endswith("\n")):  # a line that did not match
        return None
    tokens, ids, counts, dfs = map(list, zip(*rows))
    if ids != list(map(str, range(first_id, first_id + len(ids)))):
        return None
    counts, dfs = list(map(int, counts)), list(map(int, dfs))
    if max(counts) >= 2**63 or max(dfs) >= 2**63:
        return None
    if "\\" in text:
        from rnntools.io.inputs import loads

        try:
            tokens = [loads(f'"{token}"') if "\\" in token else token for token in tokens]
        except ValueError:  # a lone surrogate: the line-by-line reading names it
            return None
    if "" in tokens:
        return None
    return tokens, counts, dfs


def _read_record(path, line_no: int, line: str, header: dict, tokens: list[str], counts: list[int],
                 dfs: list[int], seen: set[str]) -> None:
    """One line of a vocabulary file, checked: the header fills ``header``, a token record is appended."""
    if not line.strip():
        return
    record = _vocab_line(path, line_no, line)
    if "format" in record and not tokens and not header:
        if record.get("format") != FILE_FORMAT:
            raise InputError(f"not a vocabulary file (format {record.get('format')!r})", path, line_no)
        version = record.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError(f"the header's \"version\" should be a whole number of at least 1, got {version!r}",
                             path, line_no)
        if version > FILE_VERSION:
            raise InputError(f"vocabulary format version {version} is newer than this rnntools reads; upgrade "
                             "rnntools", path, line_no)
        header.update(record)
        return
    token = record.get("token")
    if not isinstance(token, str) or not token:
        raise InputError("expected a vocabulary record with a non-empty string \"token\" "
                         "(is this a vocabulary file from `rnntools vocab`?)", path, line_no)
    if "id" in record and (isinstance(record["id"], bool) or record["id"] != len(tokens)):
        raise InputError(f"expected id {len(tokens)} for {token!r}, got {_json_text(record['id'])} "
                         "(ids must count up from 0)", path, line_no)
    count, df = record.get("count", 0), record.get("df", 0)
    if any(isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**63 for n in (count, df)):
        raise InputError("\"count\" and \"df\" must be non-negative integers below 2**63", path, line_no)
    _check_tokens(path, line_no, header, [token], [df], tokens, seen)
    tokens.append(token)
    counts.append(count)
    dfs.append(df)


def _multi_char(tokens: Sequence[str], before: int = 0, leading: bool = False) -> int | None:
    """The index in ``tokens`` of the first that is not one character (code point); ``before`` tokens precede
    them, and with ``leading`` all of those were special tokens, so these may go on with the specials."""
    for i, token in enumerate(tokens):
        if leading and before + i < len(SPECIALS) and token == SPECIALS[before + i]:
            continue
        leading = False
        if len(token) != 1:
            return i
    return None


def _check_chars(path, first_line: int, new: list[str], tokens: list[str]) -> None:
    """The records ``new`` (from line ``first_line`` on, after ``tokens``) of a character-level vocabulary file
    are single characters: `rnn-train --level char --vocab` with a token "th" or "ing" trained a network with
    rows no text ever reaches and sampled them as if they were one character, silently."""
    bad = _multi_char(new, len(tokens), len(tokens) <= len(SPECIALS) and tuple(tokens) == SPECIALS[: len(tokens)])
    if bad is not None:
        token = new[bad]
        raise InputError(f"a character-level vocabulary (\"level\": \"char\") holds the token {token!r} of "
                         f"{len(token)} characters; each of its tokens is one character (count one with `rnntools "
                         "vocab --level char`)", path, first_line + bad)


def _check_tokens(path, first_line: int, header: dict, new: list[str], dfs: list[int], tokens: list[str],
                  seen: set[str]) -> None:
    """The records ``new`` (from line ``first_line`` on, after ``tokens``) hold tokens some text can reach, and
    document frequencies the header's document count can hold. A token the tokenizer never produces (``the
    cat``, ``hello!``, ``The`` in a lowercased vocabulary, ``th`` in a character vocabulary) made a row of the
    network or the bag of words that no text ever reaches, silently; a "df" above "documents" made a negative
    idf, so tf-idf weights turned negative. A token twice was "tokens must be unique", naming no line."""
    level = header.get("level", "word")
    if level == "char":
        _check_chars(path, first_line, new, tokens)
    elif level == "word":
        lowercase = header.get("lowercase", True)
        start = 0  # the special tokens that open a vocabulary
        while (start < len(new) and len(tokens) + start < len(SPECIALS) and tokens == list(SPECIALS[: len(tokens)])
               and new[start] == SPECIALS[len(tokens) + start]):
            start += 1
        words = new[start:]
        joined = "\n".join(words)
        split = phrase_tokenizer(lowercase is True)
        if split(joined) != words:
            bad = next(i for i, word in enumerate(words) if split(word) != [word])
            word = words[bad]
            if nfc(word) != word:
                why = ("which is not in Unicode's composed form (NFC), as text is read before it is split: no text "
                       "reaches it (write the token composed)")
            elif lowercase is True and PHRASE_WORD_RE.fullmatch(word):
                why = ("but the header says \"lowercase\": true: text is lowercased before it is looked up, so "
                       "no text reaches it (count the text with `rnntools vocab --keep-case`, or lowercase the token)")
            else:
                why = ("which no text is split into (a word is a run of letters and digits, joined only by an "
                       "apostrophe or an underscore), so no text reaches it")
            raise InputError(f"a word-level vocabulary holds the token {word!r}, {why}", path,
                             first_line + start + bad)
    count = len(seen)
    seen.update(new)
    if len(seen) != count + len(new):
        prior = set(tokens)
        for i, token in enumerate(new):
            if token in prior:
                raise InputError(f"the token {token!r} appears again (a vocabulary holds each token once)", path,
                                 first_line + i)
            prior.add(token)
    documents = header.get("documents", 0)
    if (not isinstance(documents, bool) and isinstance(documents, int) and documents > 0 and dfs
            and max(dfs) > documents):
        bad = next(i for i, df in enumerate(dfs) if df > documents)
        raise InputError(f"the token {new[bad]!r} has \"df\" {dfs[bad]}, more than the header's {documents} "
                         "\"documents\" (a token occurs in at most every document)", path, first_line + bad)


def _json_text(value) -> str:
    """``value`` as JSON writes it (true, null), for messages about a JSON field."""
    import json

    try:
        return json.dumps(value, ensure_ascii=False)[:80]
    except (TypeError, ValueError):
        return repr(value)[:80]


def _vocab_line(path, line_no: int, line: str) -> dict:
    """One line of a vocabulary file as an object; a line that is not one says what file was expected (a
    text file given to --vocab or --merge is the usual mistake)."""
    from rnntools.io.inputs import parse_json_object

    try:
        return parse_json_object(line, path, line_no)
    except InputError as exc:
        if exc.reason.startswith(("invalid JSON", "expected a JSON object")):
            raise InputError(f"{exc.reason}; expected a vocabulary file from `rnntools vocab`", exc.path,
                             exc.line) from None
        raise
