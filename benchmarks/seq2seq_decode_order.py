"""Greedy (or beam) decoding of many sources in chunks of the given order against chunks of sources sorted by
length (``Seq2SeqModel.translate``), in one process, alternating: the same outputs, CPU milliseconds.

    python benchmarks/seq2seq_decode_order.py W/m1.npz /tmp/g2p/test.jsonl --count 2000 --rounds 7

The first ``--count`` records' sources, as training's evaluation decodes its 2,000 validation pairs each epoch
(one network; ``--networks 2`` decodes with every network of the file, as ``predict`` does). Both ways are
checked to give the same outputs and scores before they are timed. At ``--threads 1`` (the default) all the
work runs in this thread, so CPU time is the cost however loaded the machine is. Medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def in_given_order(model, ids, beam: int, chunk: int = 256) -> list:
    """``translate_ids`` as it was: chunks of ``chunk`` sources in the order given."""
    from rnntools.tasks.seq2seq.decode import beam_search_many, greedy

    tv, out = model.tgt_vocab, []
    max_length = model.default_max_length()
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        if beam <= 1:
            found = [[f] for f in greedy(model.params, model.cfg, part, tv.start_id, tv.eos_id, max_length, 1.0,
                                         net=model.nets)]
        else:
            found = beam_search_many(model.params, model.cfg, part, tv.start_id, tv.eos_id, max_length, beam, 1,
                                     1.0, net=model.nets)
        out.extend([(tv.decode(seq), score) for seq, score in best] for best in found)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data", help="JSONL records with a source field")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--networks", type=int, default=1, help="decode with this many of the file's networks")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    from rnntools.parallel import configure_threads
    from rnntools.tasks.seq2seq import load
    from rnntools.tasks.seq2seq.task import _source_tokens

    configure_threads(a.threads)
    model = load(a.model)
    model.nets = model.nets[:a.networks]
    with open(a.data, encoding="utf-8") as f:
        records = [json.loads(line) for _, line in zip(range(a.count), f)]
    ids = [model.src_vocab.encode(_source_tokens(model, r, "source")) for r in records]
    ways = {"given order": lambda: in_given_order(model, ids, a.beam),
            "sorted by length": lambda: model.translate_ids(ids, beam=a.beam, nbest=1)}
    outputs = {name: run() for name, run in ways.items()}
    same = outputs["given order"] == outputs["sorted by length"]
    print(f"{len(ids)} sources, {len(model.nets)} network(s), beam {a.beam}: the same outputs and scores: {same}")
    if not same:
        sys.exit(1)
    times: dict = {name: [] for name in ways}
    for r in range(a.rounds):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            t = time.process_time()
            ways[name]()
            times[name].append(1000 * (time.process_time() - t))
        print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.0f}" for n, v in times.items())
              + f" CPU ms; load {os.getloadavg()[0]:.2f}", flush=True)
    ref = statistics.median(times["given order"])
    for name, v in times.items():
        med = statistics.median(v)
        print(f"{name}: median {med:.0f} CPU ms ({med / ref:.3f}x)")


if __name__ == "__main__":
    main()
