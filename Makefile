# vpbook — the two commands of the README:
#   make report   set up, build, and run the main job: notebooks/tour.md -> output/tour.html
#   make test     set up, build (release: the numeric tests need optimised code) and run every test
SWIFT ?= swift
RELEASE = $(SWIFT) build -c release

.PHONY: setup build test report bench bench-torch fuzz lint clean

setup:
	@bash scripts/setup.sh

build: setup
	$(RELEASE) --product vpbook

test: setup
	@bash scripts/setup.sh --browser   # Debian's chromium, for the browser check of the tour report
	$(RELEASE) --build-tests
	$(SWIFT) test -c release --skip-build

report: build
	.build/release/vpbook run notebooks/tour.md -o output/tour.html

bench: setup
	$(SWIFT) run -c release vpbench

bench-torch: setup   # vpbook against PyTorch in one run (a ~5 GB PyTorch virtual environment in .venv-bench)
	@bash scripts/bench-torch.sh $(ARGS)

fuzz: setup   # libFuzzer on every parser of untrusted bytes (not part of make test): RUNS=… per target
	@bash scripts/fuzz.sh $(or $(RUNS),1000000)

lint:
	$(SWIFT) format lint -r Sources Tests

clean:
	rm -rf .build output/*.html
