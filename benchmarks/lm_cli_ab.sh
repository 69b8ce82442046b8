#!/usr/bin/env bash
# LM training speed through the CLI, two checkouts side by side (alternating), as docs/tasks.md quotes it:
#   git worktree add --detach /tmp/ref dcb4668
#   flock /tmp/rnntools-bench.lock benchmarks/lm_cli_ab.sh /tmp/ref .
# Prints per run: side, rep, chars/s over the whole run, chars/s of the last --log step window, seconds.
set -euo pipefail
OLD=$(cd "${1:?old checkout}" && pwd); NEW=$(cd "${2:?new checkout}" && pwd); PY=${PYTHON:-python}
BOOK=$(cd "$(dirname "$0")/.." && pwd)/samples/book.txt
# what both sides run on: CPU model, the instruction set numba compiles for, OpenBLAS's kernels
(cd /tmp && PYTHONPATH=$NEW "$PY" -c "import sys; sys.path.insert(0, '$NEW/benchmarks'); import isa; print('cpu:', isa.report(torch_side=False))")
for rep in 1 2 3; do
  for side in old new; do
    src=$OLD; [ "$side" = new ] && src=$NEW
    log=$(mktemp); rm -f "$log"
    # from /tmp: python -m puts the working directory ahead of PYTHONPATH
    (cd /tmp && PYTHONPATH=$src "$PY" -m rnntools -q rnn-train --task lm "$BOOK" -o "/tmp/lm-ab-$side.npz" --max-steps 40 \
      --threads 2 --seed 1 --log "$log")
    "$PY" -c "import json; e=[json.loads(l) for l in open('$log')]; s=[x for x in e if x['event']=='step']
end=[x for x in e if x['event']=='end'][0]
print('$side', $rep, round(end['chars_per_s']), round(s[-1]['chars_per_s']), end['seconds'])"
    rm -f "$log"
  done
done
