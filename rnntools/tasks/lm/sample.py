"""One-to-many: generating text from a language model, one token at a time.

Sample ``i`` draws its random numbers from ``default_rng([seed, i])``: the same seed gives the same samples,
and sample 3 of ``--count 5`` is sample 3 of ``--count 10``. The model first reads a line break (the start of
a line), then the prime text.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

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
    if any("\ud800" <= c <= "\udfff" for c in out):
        # a pair written as JSON and Java write characters beyond U+FFFF ('\ud83d\ude00') is one character;
        # a surrogate alone is none: nothing can encode it
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        if any("\ud800" <= c <= "\udfff" for c in out):
            raise UsageError(f"{text!r} escapes a lone surrogate, which is not a character")
    return out


# Multiply-adds that the numpy twin of the sampler (rnntools.tasks.lm.stepper) does before the compiled
# kernels take over: ~0.1-0.3 s of numpy, less than numba's import and target set-up (~0.5 s of CPU), so
# `sample --length 500` of a char LSTM-256 never starts numba, and a long run pays for it once.
NUMPY_MACS = 200_000_000
# The compiled kernels read the first layer's input products from a table of every token's (V x 4H for an
# LSTM) when it is at most this large: a character model's few hundred KB, never a word model's tens of MB.
INPUT_TABLE_BYTES = 16 << 20
# Models with at least this many bytes of weights may generate each token on two threads (``SplitRun``):
# below it the weights sit in one core's L2 cache and the threads' meetings would cost more than they save.
SPLIT_BYTES = 1 << 20
# Tokens per split run: waking the worker thread costs tens of microseconds, and a thread woken by another
# tends to start on the waker's core until the scheduler moves it; runs of 64 tokens were measured 3-6x
# slower per token than runs of 512 on a machine with other jobs.
SPLIT_CHUNK = 512


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

    def _split_run(self) -> SplitRun | None:
        """The two-thread generation of this model, or None when it cannot pay (small weights, one core)."""
        if not hasattr(self, "_split"):
            from rnntools.parallel import configured_threads

            weights = sum(W.nbytes for W in self.Whs + self.Wxs) + self.projW.nbytes
            self._split = SplitRun(self) if weights >= SPLIT_BYTES and configured_threads() >= 2 else None
        return self._split

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
        # a lowercased vocabulary reads --until lowercased, as it reads the prime
        found = self.end if until == "\n" else self.vocab.index.get(until.lower() if self.vocab.lowercase else until)
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
        split = self._split_run()
        out = np.empty(max(chunk, SPLIT_CHUNK) if split is not None else chunk, np.int64)
        done = 0
        while done < length:
            state = rng.bit_generator.state
            parts = split.parts() if split is not None else 1
            us = rng.random(min(chunk if parts == 1 else max(chunk, SPLIT_CHUNK), length - done))
            start = time.perf_counter()
            if parts > 1:
                n = split.run(token, temperature, top_k, us, until, out)
            else:
                n = int(sample_tokens(self.kind, token, self.embed, Whs, Wxs, table, self.bs, self.bns, self.h,
                                      self.c, projW, self.projb, a, ax, logits, self.probs, temperature, top_k, us,
                                      until, out))
            if split is not None:
                split.timed(parts, (time.perf_counter() - start) / n)
            if n < len(us):
                rng.bit_generator.state = state
                rng.random(n)
            yield from out[:n].tolist()
            done += n
            if n < len(us):
                return
            token = int(out[n - 1])


class SplitRun:
    """Generation with each token shared by two threads (``kernels.sample_tokens_part``): each streams
    the columns of half the units of every matrix and half the logits, and they meet after each layer and
    after the logits. The same tokens, state and logits as one thread's ``sample_tokens``, bit for bit.

    Whether it pays depends on the machine: with two idle cores a model whose weights exceed one core's L2
    cache runs 2-3x faster; when another job holds a core, every meeting waits for it. So every run is
    timed and the kind with the lower moving average per token is used, the other explored from time to
    time (``timed``), as a machine's load changes. A minimum would not do: on a busy machine the split's
    times vary most, and its luckiest run says little about the next.
    """

    PARTS = 2
    # The first runs: each kind loads its kernel, and the worker thread is given time to settle on a core
    # of its own (the first few split runs were measured as slow as both threads on one core: the operating
    # system had not yet moved the new thread), then three of each kind start the moving averages.
    FIRST = (1, 2, 2, 2, 2, 2, 1, 2, 1, 2, 1)
    FIRST_UNTIMED = 5
    PROBE_EVERY = 256     # at most this many runs between two explorations of the other kind
    SMOOTHING = 0.3       # weight of a run in its kind's moving average

    def __init__(self, sampler: Sampler):
        from rnntools.nn.barrier import SLOT
        from rnntools.nn.gates import GRU, LSTM
        from rnntools.nn.kernels import pack_columns
        from rnntools.tasks.lm.kernels import input_table

        self.sampler = sampler
        s = sampler
        L, H = s.h.shape
        G = s.Whs[0].shape[1] // H
        V = s.projb.shape[0]
        with_table = s._packed()[2].shape[0] > 0   # the one-thread kernels' choice (INPUT_TABLE_BYTES)
        self.part_arrays: list[SimpleNamespace] = []
        for part in range(self.PARTS):
            u0, u1 = H * part // self.PARTS, H * (part + 1) // self.PARTS
            v0, v1 = V * part // self.PARTS, V * (part + 1) // self.PARTS
            cols = np.concatenate([np.arange(g * H + u0, g * H + u1) for g in range(G)])
            Whs = tuple(pack_columns(np.ascontiguousarray(W[:, cols])) for W in s.Whs)
            Wxs = tuple(pack_columns(np.ascontiguousarray(W[:, cols])) for W in s.Wxs)
            bs = tuple(np.ascontiguousarray(b[cols]) for b in s.bs)
            bns = tuple(np.ascontiguousarray(b[u0:u1]) for b in s.bns) if s.kind == GRU else bs
            table = input_table(s.embed, Wxs[0]) if with_table else np.zeros((0, 0), s.embed.dtype)
            projW = pack_columns(np.ascontiguousarray(s.projW[:, v0:v1]))
            width = Whs[0].shape[0] * Whs[0].shape[2]
            self.part_arrays.append(SimpleNamespace(
                Whs=Whs, Wxs=Wxs, table=table, bs=bs, bns=bns, u0=u0, U=u1 - u0, projW=projW, v0=v0, v1=v1,
                a=np.zeros(width, s.h.dtype), ax=np.zeros(width, s.h.dtype),
                lg=np.zeros(projW.shape[0] * projW.shape[2], s.h.dtype),
                probs=s.probs if part == 0 else np.zeros(V, np.float64)))
        self.hbuf = np.zeros((2, L, H), s.h.dtype)
        self.c = s.c if s.kind == LSTM else np.zeros((L, H), s.h.dtype)
        self.flags = np.zeros(SLOT * self.PARTS, np.int64)
        self.seq = 0
        self.calls = 0
        self.chosen = 1
        self.estimate: dict[int, float] = {}   # parts -> moving average of seconds per token
        self.exploring = 0        # 2, 1: the runs of the other kind still to make
        self.since = 0            # runs of the chosen kind since the last exploration
        self.wait = 16
        self.broken = False
        self.pool = None
        self.apart = None

    def parts(self) -> int:
        """How many threads the next run uses: the warm-up's schedule, an exploring run, or the kind with
        the lower estimated time per token."""
        if self.broken:
            return 1
        if self.calls < len(self.FIRST):
            return self.FIRST[self.calls]
        if self.exploring:
            return self.other
        return self.chosen

    @property
    def other(self) -> int:
        return self.PARTS if self.chosen == 1 else 1

    def timed(self, parts: int, seconds_per_token: float) -> None:
        """Record a run's time per token in its kind's moving average (an exploring pair's second run
        replaces the other kind's stale average; its first is not counted: a worker thread woken after a
        pause starts slowly) and choose the kind with the lower average. The other kind is explored (two
        runs) after ``wait`` runs: 16, doubling while exploring does not change the choice, up to
        ``PROBE_EVERY``, and back to 16 when it does."""
        k = self.calls
        self.calls += 1
        if k < self.FIRST_UNTIMED:
            return
        if self.exploring == 2:
            self.exploring = 1
            return
        old = self.estimate.get(parts)
        if old is None or self.exploring:   # an explored kind's average is stale: the new run replaces it
            self.estimate[parts] = seconds_per_token
        else:
            self.estimate[parts] = old + self.SMOOTHING * (seconds_per_token - old)
        if self.exploring:
            self.exploring = 0
            self.since = 0
        elif k >= len(self.FIRST):
            self.since += 1
        if len(self.estimate) < 2:
            return
        before = self.chosen
        self.chosen = min(self.estimate, key=self.estimate.get)
        if self.chosen != before:
            self.wait = 16
            self.since = 0
        elif self.since >= self.wait:
            self.exploring = 2
            self.wait = min(2 * self.wait, self.PROBE_EVERY)

    def run(self, token: int, temperature: float, top_k: int, us: np.ndarray, until: int, out: np.ndarray) -> int:
        """``sample_tokens`` on PARTS threads (this one and a worker): tokens written to ``out``."""
        from concurrent.futures import ThreadPoolExecutor

        from rnntools.nn.barrier import SLOT
        from rnntools.tasks.lm.kernels import sample_tokens_part

        s = self.sampler
        logits = s._packed()[6]
        if self.pool is None:
            import threading

            from rnntools.parallel import ThreadsApart

            self.pool = ThreadPoolExecutor(self.PARTS - 1, thread_name_prefix="rnntools-sample")
            self.apart = ThreadsApart([self.pool.submit(threading.get_native_id).result()])
        self.hbuf[0] = s.h

        def part_run(part):
            p = self.part_arrays[part]
            try:
                return sample_tokens_part(part, self.PARTS, self.flags, self.seq, s.kind, token, s.embed, p.Whs,
                                          p.Wxs, p.table, p.bs, p.bns, p.u0, p.U, self.hbuf, self.c, p.projW, s.projb,
                                          p.v0, p.v1, p.a, p.ax, p.lg, logits, p.probs, temperature, top_k, us, until,
                                          out)
            except BaseException:
                # a part that never reaches its meetings would leave the others waiting for ever: mark it
                # as past every meeting, so they finish their run, and never split again
                self.flags[part * SLOT] = 1 << 62
                self.broken = True
                raise

        with self.apart:
            others = [self.pool.submit(part_run, part) for part in range(1, self.PARTS)]
            n, seq = part_run(0)
            for other in others:
                if other.result() != (n, seq):   # pragma: no cover - the parts draw the same tokens
                    raise RuntimeError("generation threads disagree")
        self.seq = seq
        s.h[...] = self.hbuf[n % 2]
        return n


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
