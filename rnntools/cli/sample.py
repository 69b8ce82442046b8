"""``rnntools sample``: generate text from a language model, one token at a time (click + stdlib only)."""

from __future__ import annotations

import click

from rnntools.cli.common import CONTEXT, SEED, GroupedCommand, option


@click.command(name="sample", cls=GroupedCommand, context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False))
@option("--prime", default="", group="Sampling",
        help="Text to start from (backslash escapes such as '\\n' work); it is printed first.")
@option("--prompts", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Sampling",
        help="A file of primes, one per line ('-': stdin, answered line by line as they arrive); each "
             "line's samples are those --prime would give it. Output: JSONL records with the prompt's line.")
@option("--length", type=click.IntRange(1), default=500, show_default=True, group="Sampling",
        help="Tokens to generate (characters or words, as the model was trained).")
@option("--temperature", type=click.FloatRange(0), default=1.0, show_default=True, group="Sampling",
        help="Below 1: safer, more repetitive; above 1: wilder; 0: always the most likely token.")
@option("--top-k", type=click.IntRange(0), default=0, show_default=True, group="Sampling",
        help="Draw only from the K most likely tokens (0: all).")
@option("--until", default=None, group="Sampling",
        help="Stop a sample after this token, e.g. '\\n' for one line or '.' (escapes work).")
@option("--count", type=click.IntRange(1), default=1, show_default=True, group="Sampling",
        help="Number of samples.")
@option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default=None, group="Output",
        help="text: streamed as generated; jsonl: one record per sample [default: text for one sample, "
             "jsonl for several].")
@option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None, group="Output",
        help="Write here instead of stdout.")
@option("--seed", type=SEED, default=1, show_default=True,
        help="Random seed; the same seed gives the same text (sample i of --count draws from seed and i).")
def sample(model, prime, prompts, length, temperature, top_k, until, count, fmt, output, seed):
    """Generate text from a language model trained with `rnn-train --task lm`.

    \b
        rnntools sample lm.npz --prime 'It is a truth' --length 300 --temperature 0.8
        rnntools sample lm.npz --count 5 --top-k 10 --until '\\n'    # five lines as JSONL
        printf 'It is\\nShe was\\n' | rnntools sample lm.npz --prompts - --until '\\n'
    """
    from rnntools.errors import UsageError
    from rnntools.io import JsonlWriter, iter_lines, open_output
    from rnntools.tasks.lm import load
    from rnntools.tasks.lm.sample import sample_prompts, sample_records, sample_text, unescape

    if prompts is not None and prime:
        raise UsageError("give the primes either with --prime or one per line with --prompts, not both")

    def unescaped(text, flag):  # before the model is read: a usage error needs nothing else
        try:
            return unescape(text)
        except UsageError as exc:
            raise UsageError(f"{flag}: {exc}") from None

    until = unescaped(until, "--until") if until is not None else None
    prime = unescaped(prime, "--prime")
    lm = load(model)
    options = dict(length=length, temperature=temperature, top_k=top_k, until=until, count=count, seed=seed)
    if prompts is not None:
        fmt = fmt or "jsonl"
        pieces = sample_prompts(lm, iter_lines(prompts), fmt=fmt, **options)
    else:
        fmt = fmt or ("text" if count == 1 else "jsonl")
        options["prime"] = prime
        pieces = sample_text(lm, **options) if fmt == "text" else sample_records(lm, **options)
    first = next(pieces, None)  # a usage error (--until) before the output is opened
    with open_output(output) as stream:
        writer = JsonlWriter(stream)
        for piece in ([first] if first is not None else []):
            _write(stream, writer, piece)
        for piece in pieces:
            _write(stream, writer, piece)


def _write(stream, writer, piece) -> None:
    """Text streams as it is generated; records go one per line."""
    if isinstance(piece, str):
        stream.write(piece)
        stream.flush()
    else:
        writer.write(piece)
        writer.flush()
