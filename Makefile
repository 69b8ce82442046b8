.PHONY: test lint bench

test:
	bin/test

lint:
	bin/lint

bench:
	python3 benchmarks/text_throughput.py
	python3 benchmarks/w2v_vs_gensim.py
	python3 benchmarks/rnn_vs_torch.py
	python3 benchmarks/lm_quality_vs_torch.py
	python3 benchmarks/classify_vs_baselines.py
	python3 benchmarks/forecast_vs_ets.py
	python3 benchmarks/seq2seq_vs_torch.py
