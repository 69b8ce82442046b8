"""One-to-many: generating text from a language model, one token at a time.

Sample ``i`` draws its random numbers from ``default_rng([seed, i])``: the same seed gives the same samples,
and sample 3 of ``--count 5`` is sample 3 of ``--count 10``. The model first reads a line break (the start of
a line), then the prime text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from rnntools.errors import UsageError
from rnntools.tasks.lm.data import encode_chars, line_end_id


def unescape(text: str) -> str:
    r"""Backslash escapes of the shell-friendly kind: ``\n``, ``\t``, ``\\``, ``\u00e9``."""
    if "\\" not in text:
        return text
    from rnntools.errors import UsageError

    try:
        out = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as exc:
        raise UsageError(f"bad backslash escape in {text!r} ({exc.reason}); write a backslash itself "
                         "as \\\\") from None
    if any("\ud800" <= c <= "\udfff" for c in out):  # '\ud800' alone is no character: nothing can encode it
        raise UsageError(f"{text!r} escapes a lone surrogate, which is not a character")
    return out


# Multiply-adds that the numpy twin of the sampler (rnntools.tasks.lm.stepper) does before the compiled
# kernels take over: ~0.1-0.3 s of numpy, less than numba's import and target set-up (~0.5 s of CPU), so
# `sample --length 500` of a char LSTM-256 never starts numba, and a long run pays for it once.
NUMPY_MACS = 200_000_000
# The compiled kernels read the first layer's input products from a table of every token's (V x 4H for an
# LSTM) when it is at most this large: a character model's few hundred KB, never a word model's tens of MB.
INPUT_TABLE_BYTES = 16 << 20


class Sampler:
    """Generates tokens at batch 1: one fused numba call per run of tokens
    (``rnntools.tasks.lm.kernels.sample_tokens``), one call for the whole prime (``feed_tokens``), after
    the first ~``NUMPY_MACS`` multiply-adds in numpy (``rnntools.tasks.lm.stepper``, the same arithmetic
    bit for bit, so which one runs never changes the text).

    State: ``h``, ``c`` (L, H) (``c`` is ``h`` for rnn/gru); ``logits`` (V,) holds the last step's logits.
    """

    def __init__(self, lm, numpy_macs: int = NUMPY_MACS):
        m = lm.model
        self.lm, self.vocab = lm, lm.vocab
        self._set_weights(m.params, m.cell, m.hidden, m.layers, m.vocab_size)
        self.end = line_end_id(self.vocab)
        macs = sum(W.size for W in self.Whs + self.Wxs) + self.projW.size
        self.numpy_tokens = numpy_macs // max(1, macs) if self.embed.dtype == np.float32 else 0

    @classmethod
    def of_params(cls, params: dict, cell: str, hidden: int, layers: int, vocab_size: int) -> Sampler:
        """A sampler of a model's parameters alone (no vocabulary), for ``_tokens`` in the compiled kernels:
        what the engine benchmark times against PyTorch."""
        self = cls.__new__(cls)
        self.lm = self.vocab = None
        self._set_weights(params, cell, hidden, layers, vocab_size)
        self.end = 0
        self.numpy_tokens = 0
        return self

    def _set_weights(self, p: dict, cell: str, H: int, L: int, V: int) -> None:
        from rnntools.nn.gates import CELLS

        self.kind = CELLS[cell]
        Ws = [p[f"rnn.{layer}.W"] for layer in range(L)]
        self.Whs = tuple(np.ascontiguousarray(W[:H]) for W in Ws)
        self.Wxs = tuple(np.ascontiguousarray(W[H:]) for W in Ws)
        self.bs = tuple(np.ascontiguousarray(p[f"rnn.{layer}.b"]) for layer in range(L))
        self.bns = tuple(np.ascontiguousarray(p[f"rnn.{layer}.bn"]) for layer in range(L)) \
            if cell == "gru" else self.bs
        self.embed = np.ascontiguousarray(p["embed.W"])
        self.projW, self.projb = np.ascontiguousarray(p["out.W"]), np.ascontiguousarray(p["out.b"])
        dt = self.embed.dtype
        self.h = np.zeros((L, H), dt)
        self.c = np.zeros((L, H), dt) if cell == "lstm" else self.h
        self.logits = np.zeros(V, dt)
        self.probs = np.zeros(V, np.float64)
        self._kernel_arrays: tuple | None = None

    def _packed(self) -> tuple:
        """(Whs, Wxs, table, projW, a, ax, logits) for the compiled kernels: the weights packed into column
        panels (``rnntools.nn.kernels.pack_columns``; their width depends on the compiled target, so this
        waits for the first compiled run), the first layer's input table (``kernels.input_table``; (0, 0)
        beyond ``INPUT_TABLE_BYTES``) and scratch as wide as the panels. ``self.logits`` becomes the first V
        of the kernels' logits buffer, so it shows the last step's logits whichever path ran it."""
        if self._kernel_arrays is None:
            from rnntools.nn.kernels import pack_columns
            from rnntools.tasks.lm.kernels import input_table

            Whs = tuple(pack_columns(W) for W in self.Whs)
            Wxs = tuple(pack_columns(W) for W in self.Wxs)
            projW = pack_columns(self.projW)
            table_bytes = self.embed.shape[0] * Wxs[0].shape[0] * Wxs[0].shape[2] * self.embed.itemsize
            table = input_table(self.embed, Wxs[0]) if table_bytes <= INPUT_TABLE_BYTES else \
                np.zeros((0, 0), self.embed.dtype)
            dt = self.embed.dtype
            gates = Whs[0].shape[0] * Whs[0].shape[2]
            V = self.logits.shape[0]
            logits = np.zeros(projW.shape[0] * projW.shape[2], dt)
            logits[:V] = self.logits
            self.logits = logits[:V]
            self._kernel_arrays = (Whs, Wxs, table, projW, np.zeros(gates, dt), np.zeros(gates, dt), logits)
        return self._kernel_arrays

    def _use_numpy(self, tokens: int) -> bool:
        """Whether the next ``tokens`` steps run in numpy; once a run is given to the compiled kernels,
        every later one goes there too (their start-up is paid)."""
        if tokens <= self.numpy_tokens:
            self.numpy_tokens -= tokens
            return True
        self.numpy_tokens = 0
        return False

    def _step(self, token: int, temperature: float, top_k: int, u: float) -> int:
        from rnntools.tasks.lm.kernels import sample_step

        Whs, Wxs, table, projW, a, ax, logits = self._packed()
        return int(sample_step(self.kind, token, self.embed, Whs, Wxs, table, self.bs, self.bns, self.h, self.c,
                               projW, self.projb, a, ax, logits, self.probs, temperature, top_k, u))

    def _feed(self, ids: np.ndarray, numpy: bool = False) -> None:
        if numpy:
            from rnntools.tasks.lm.stepper import stack_step

            for token in ids.tolist():
                stack_step(self.kind, token, self.embed, self.Whs, self.Wxs, self.bs, self.bns, self.h, self.c)
            return
        from rnntools.tasks.lm.kernels import feed_tokens

        Whs, Wxs, table, _, a, ax, _ = self._packed()
        feed_tokens(self.kind, np.ascontiguousarray(ids, np.int32), self.embed, Whs, Wxs, table, self.bs,
                    self.bns, self.h, self.c, a, ax)

    def prime_ids(self, prime: str) -> np.ndarray:
        if self.vocab.level == "char":
            return encode_chars(self.vocab, prime)
        parts = prime.split("\n")
        ids: list[int] = []
        for i, part in enumerate(parts):
            ids.extend(self.vocab.encode(part).tolist())
            if i < len(parts) - 1:
                ids.append(self.end)
        return np.array(ids, np.int32)

    def until_id(self, until: str | None) -> int | None:
        if until is None:
            return None
        found = self.end if until == "\n" else self.vocab.index.get(until)
        if found is None:
            raise UsageError(f"--until {until!r} is not a token of the model's vocabulary")
        return found

    def token_text(self, token: int) -> str:
        if token == self.end:
            return "\n"
        if token < self.vocab.n_special:
            return ""
        return self.vocab.tokens[token]

    def generate(self, prime: str, length: int, *, temperature: float = 1.0, top_k: int = 0,
                 until: str | None = None, rng: np.random.Generator) -> Iterator[tuple[int, str]]:
        """Yields ``(token id, text)`` for each generated token (text includes a joining space at word
        level). The model first reads a line break (the start of a line), then ``prime``."""
        self.h[...] = 0
        self.c[...] = 0
        ids = np.concatenate([[self.end], self.prime_ids(prime)]).astype(np.int32)
        numpy = self._use_numpy(len(ids) + length)
        self._feed(ids[:-1], numpy)
        until_id = self.until_id(until)
        previous_text = prime
        for token in self._tokens(int(ids[-1]), length, temperature, top_k, -1 if until_id is None else until_id,
                                  rng, numpy=numpy):
            text = self.token_text(token)
            if self.vocab.level == "word" and text and text != "\n" and previous_text and \
                    not previous_text.endswith(("\n", " ")):
                text = " " + text
            if text:
                previous_text = text
            yield token, text
            if token == until_id:
                return

    def _tokens(self, token: int, length: int, temperature: float, top_k: int, until: int,
                rng: np.random.Generator, chunk: int = 64, numpy: bool = False) -> Iterator[int]:
        """The next ``length`` tokens (fewer after ``until``), ``chunk`` per numba call
        (``kernels.sample_tokens``). The generator gives one uniform per token drawn, exactly as drawing
        them one at a time would: after an early stop it is rewound to the tokens used."""
        if numpy:
            from rnntools.tasks.lm.stepper import sample_step

            for _ in range(length):
                token = sample_step(self.kind, token, self.embed, self.Whs, self.Wxs, self.bs, self.bns, self.h,
                                    self.c, self.projW, self.projb, self.logits, temperature, top_k, rng.random())
                yield token
                if token == until:
                    return
            return
        from rnntools.tasks.lm.kernels import sample_tokens

        Whs, Wxs, table, projW, a, ax, logits = self._packed()
        out = np.empty(chunk, np.int64)
        done = 0
        while done < length:
            state = rng.bit_generator.state
            us = rng.random(min(chunk, length - done))
            n = int(sample_tokens(self.kind, token, self.embed, Whs, Wxs, table, self.bs, self.bns, self.h,
                                  self.c, projW, self.projb, a, ax, logits, self.probs, temperature, top_k, us,
                                  until, out))
            if n < len(us):
                rng.bit_generator.state = state
                rng.random(n)
            yield from out[:n].tolist()
            done += n
            if n < len(us):
                return
            token = int(out[n - 1])


def sample_rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, i])


def sample_text(lm, *, prime: str = "", length: int = 500, temperature: float = 1.0, top_k: int = 0,
                until: str | None = None, count: int = 1, seed: int = 1) -> Iterator[str]:
    """Text pieces to write as they come (``--format text``): each sample is the prime, then its tokens,
    then a line break unless it ended with one."""
    sampler = Sampler(lm)
    sampler.until_id(until)  # an unknown --until is a usage error before any output
    for i in range(count):
        yield prime
        last = prime
        for _, text in sampler.generate(prime, length, temperature=temperature, top_k=top_k, until=until,
                                        rng=sample_rng(seed, i)):
            if text:
                yield text
                last = text
        if not last.endswith("\n"):
            yield "\n"


def sample_records(lm, *, prime: str = "", length: int = 500, temperature: float = 1.0, top_k: int = 0,
                   until: str | None = None, count: int = 1, seed: int = 1,
                   sampler: Sampler | None = None) -> Iterator[dict]:
    """One record per sample (``--format jsonl``): the text without the prime and without the ``--until``
    token, and why it stopped."""
    sampler = sampler or Sampler(lm)
    until_id = sampler.until_id(until)
    for i in range(count):
        pieces, stopped = [], "length"
        for token, text in sampler.generate(prime, length, temperature=temperature, top_k=top_k, until=until,
                                            rng=sample_rng(seed, i)):
            if token == until_id:
                stopped = "until"
                break
            pieces.append(text)
        yield {"sample": i, "prime": prime, "text": "".join(pieces).lstrip(" ") if not prime else "".join(pieces),
               "stopped": stopped, "seed": seed}


def sample_prompts(lm, prompts: Iterable[tuple[int, str]], *, fmt: str = "jsonl", **options) -> Iterator[str | dict]:
    """``sample --prompts``: each ``(line number, text)`` is a prime; its samples are exactly those of
    ``--prime TEXT`` with the same seed (sample ``i`` of every prompt draws from ``[seed, i]``), so a
    prompt file is a batch of single runs. Records gain the prompt's ``line``; text output is each
    sample's prime and continuation on its own lines."""
    sampler = Sampler(lm)
    sampler.until_id(options.get("until"))  # an unknown --until is a usage error before any output
    for line_no, prime in prompts:
        for record in sample_records(lm, prime=prime, sampler=sampler, **options):
            if fmt == "jsonl":
                yield {"line": line_no, **record}
            else:
                text = prime + record["text"] + (options["until"] if record["stopped"] == "until" else "")
                yield text if text.endswith("\n") else text + "\n"
