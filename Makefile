# The front door. Every target bootstraps .venv itself when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
export PYTHONHASHSEED := 0

# Data locations (override on the command line).
DATA ?= data/DAVIS
DAVIS ?= $(DATA)
DAVISC ?= data/DAVIS-C
OUT ?= $(DAVISC)
MODEL ?= stcn-dy
TTT ?= mcc
SEEDS ?= 1
WORKERS ?=
RESULTS ?= runs/$(MODEL)-$(TTT)/results.csv

.PHONY: help setup demo golden test lint davis-c eval check-published clean train-tiny train-tiny-stcn train-tiny-xmem

help:
	@echo "make demo             run the whole pipeline on the embedded synthetic data (CPU, minutes)"
	@echo "make golden           regenerate tests/golden/demo_ci_summary*.json (the CI regression's references)"
	@echo "make test             run the test suite (creates .venv on first use)"
	@echo "make lint             ruff"
	@echo "make davis-c          build the 42 DAVIS-C variants of DAVIS=$(DAVIS) into OUT=$(OUT)"
	@echo "make eval MODEL=stcn-dy TTT=mcc   clean DAVIS + 42 variants, scored, report in reports/<model>-<ttt>/"
	@echo "make check-published RESULTS=... compare reproduced numbers with the paper's"
	@echo "make train-tiny       regenerate the synthetic train/val data and retrain the embedded tiny models (CPU)"
	@echo "make clean            remove caches and generated data (keeps .venv)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 'setuptools<82' wheel
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,distributed,tf]'
	$(BIN)/pip install -q --disable-pip-version-check --no-deps tensorflow-hub==0.16.1 tf-keras==2.21.0
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

test: setup
	@set +e; $(PY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

lint: setup
	$(BIN)/ruff check davis_c ttt eval tests bench

# make demo: synthetic val set -> DAVIS-C (42 variants) -> stcn-tiny-synth none vs tt-MCC over 3 seeds ->
# report in reports/demo/ (docs/demo.md). Stages are cached in data/demo/. make golden: the CI summary.
demo: setup
	$(PY) -m ttt demo --out reports/demo

# torch's CPU kernels capped at AVX2 (as in tests/test_demo_regression.py), so that goldens agree across x86 CPUs
GOLDEN_ENV = ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
golden: setup
	rm -rf data/demo/ci
	$(GOLDEN_ENV) $(PY) -m ttt demo --profile ci --work data/demo/ci --out data/demo/ci/report --no-report --write-golden tests/golden/demo_ci_summary.json
	$(GOLDEN_ENV) $(PY) -m ttt demo --profile ci --model xmem-tiny-synth --work data/demo/ci --out data/demo/ci/report-xmem --no-report --write-golden tests/golden/demo_ci_summary_xmem.json

davis-c: setup
	@test -d "$(DAVIS)/JPEGImages/480p" || { echo "error: no DAVIS-2017 data at $(DAVIS); download it with: python -m davis_c download davis2017 --out data"; exit 2; }
	$(PY) -m davis_c build --src "$(DAVIS)" --out "$(OUT)" $(if $(WORKERS),--workers $(WORKERS)) $(if $(STYLES),--styles-dir "$(STYLES)")

# make eval: TTT run over clean DAVIS + the 42 DAVIS-C variants, scored, then the report (docs/ttt.md).
VARIANTS ?= clean,all
RUN ?= runs/$(MODEL)-$(TTT)
REPORT ?= reports/$(MODEL)-$(TTT)
eval: setup
	@test -d "$(DATA)/JPEGImages/480p" || { echo "error: no DAVIS-2017 data at $(DATA); download it with: python -m davis_c download davis2017 --out data"; exit 2; }
	@if [ "$(VARIANTS)" != "clean" ] && [ ! -d "$(DAVISC)" ]; then echo "error: no DAVIS-C at $(DAVISC); download it with: python -m davis_c download davis-c --out data  (or build it: make davis-c)"; exit 2; fi
	@set +e; $(PY) -m ttt run --model $(MODEL) $(if $(WEIGHTS),--weights "$(WEIGHTS)") --ttt $(TTT) --data "$(DATA)" --davis-c "$(DAVISC)" --variants $(VARIANTS) --seeds $(SEEDS) --out "$(RUN)" $(if $(WORKERS),--workers $(WORKERS)) $(if $(ITERATIONS),--iterations $(ITERATIONS)) $(TTT_ARGS); rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "warning: some units failed (see $(RUN)/failures.json); the report covers the finished ones"; elif [ $$rc -ne 0 ]; then exit $$rc; fi
	$(PY) -m eval report --results "$(RUN)/results.csv" --out "$(REPORT)" $$(test -f "$(RUN)/iterations.csv" && echo --iterations "$(RUN)/iterations.csv")

# make check-published RESULTS=...: reproduced aggregates vs the paper's numbers (docs/eval.md).
check-published: setup
	@test -n "$(RESULTS)" || { echo "error: give the results table: make check-published RESULTS=path/to/results.csv"; exit 2; }
	@test -f "$(RESULTS)" || { echo "error: results table '$(RESULTS)' not found (run 'make eval' first or pass RESULTS=...)"; exit 2; }
	$(PY) -m eval check-published --results "$(RESULTS)" $(if $(TOLERANCE),--tolerance $(TOLERANCE))

# make train-tiny: the embedded tiny models (docs/embedded-models.md). Deterministic seeds, one CPU thread.
SYNTH_TRAIN ?= data/synth-train
TINY_ARGS ?= --batch-size 4 --crop 128 --seed 0 --threads 1 --save-every 100
$(SYNTH_TRAIN)/synth.json: | setup
	$(PY) -m davis_c synth --out "$(SYNTH_TRAIN)" --train 24 --val 8 --frames 40 --size 427x240 --seed 0
train-tiny-stcn: setup $(SYNTH_TRAIN)/synth.json
	OMP_NUM_THREADS=1 $(PY) -m ttt train --arch stcn --data "$(SYNTH_TRAIN)" --out ttt/weights/stcn-tiny-synth.pth --work data/train-tiny/stcn --iterations 3600 --val-every 1200 $(TINY_ARGS)
# XMem starts from the trained STCN's matching tensors (key/value encoders, decoder; 166 of 196), as the official
# XMem starts from pretrained ResNets: run train-tiny-stcn first (train-tiny does).
train-tiny-xmem: setup $(SYNTH_TRAIN)/synth.json
	@test -f ttt/weights/stcn-tiny-synth.pth || { echo "error: ttt/weights/stcn-tiny-synth.pth missing: run make train-tiny-stcn first"; exit 2; }
	OMP_NUM_THREADS=1 $(PY) -m ttt train --arch xmem --data "$(SYNTH_TRAIN)" --out ttt/weights/xmem-tiny-synth.pth --work data/train-tiny/xmem --iterations 1600 --val-every 400 --init ttt/weights/stcn-tiny-synth.pth $(TINY_ARGS)
train-tiny:
	$(MAKE) train-tiny-stcn
	$(MAKE) train-tiny-xmem

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist *.egg-info data/demo bench/_work
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +
