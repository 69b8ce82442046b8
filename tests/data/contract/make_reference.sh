#!/usr/bin/env bash
# Regenerates the contract references: models trained by the PRE-CONTRACT code (commit dcb4668) on the shipped
# samples with a fixed seed and --threads 1, and their outputs. tests/test_contract.py checks that today's code
# loads these files, predicts/evaluates them to the same bytes and resumes them.
#
#   git worktree add --detach /tmp/ref dcb4668
#   PYTHONPATH=/tmp/ref tests/data/contract/make_reference.sh /tmp/ref
#
# Run it only to record a deliberate change of outputs (and say why in the commit).
set -euo pipefail
SRC=${1:?usage: make_reference.sh CHECKOUT}
O=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python}
R() { (cd "$O" && PYTHONPATH="$SRC" "$PY" -m rnntools -q "$@"); }
S=$SRC/samples

head -40 "$S/book.txt" > "$O/lm_input.txt"
head -400 "$S/glosses.jsonl" > "$O/classify_train.jsonl"
head -60 "$S/glosses.jsonl" > "$O/classify_input.jsonl"
head -40 "$S/pairs.jsonl" > "$O/seq2seq_input.jsonl"
cp "$S/airline.csv" "$O/forecast_input.csv"

R rnn-train --task lm "$S/book.txt" -o lm.npz --hidden 24 --embed-dim 8 --batch 8 --seq-len 32 \
  --max-steps 30 --threads 1 --seed 3
R rnn-train --task classify classify_train.jsonl -o classify.npz --hidden 16 --embed-dim 16 --batch 16 \
  --max-vocab 400 --max-steps 120 --lr 0.01 --threads 1 --seed 3
R rnn-train --task seq2seq "$S/pairs.jsonl" -o seq2seq.npz --hidden 24 --embed-dim 16 --batch 32 \
  --max-steps 150 --lr 0.01 --threads 1 --seed 3
R rnn-train --task forecast forecast_input.csv -o forecast.npz --hidden 8 --batch 16 --max-steps 30 \
  --threads 1 --seed 3
R w2v-train "$S/corpus.txt" -o w2v.npz --dim 16 --min-count 20 --epochs 1 --resumable --threads 1 --seed 3

R predict lm.npz lm_input.txt > "$O/lm.predict.jsonl"
R evaluate lm.npz lm_input.txt > "$O/lm.evaluate.jsonl"
R sample lm.npz --length 200 --seed 5 --prime 'It is' > "$O/lm.sample.txt"
R predict classify.npz classify_input.jsonl > "$O/classify.predict.jsonl"
R evaluate classify.npz classify_input.jsonl > "$O/classify.evaluate.jsonl"
R predict seq2seq.npz seq2seq_input.jsonl > "$O/seq2seq.predict.jsonl"
R evaluate seq2seq.npz seq2seq_input.jsonl > "$O/seq2seq.evaluate.jsonl"
R predict forecast.npz forecast_input.csv > "$O/forecast.predict.jsonl"
R evaluate forecast.npz forecast_input.csv --backtest 2 --no-refit > "$O/forecast.evaluate.jsonl"
R neighbors w2v.npz the man house time -k 5 > "$O/w2v.neighbors.jsonl"
