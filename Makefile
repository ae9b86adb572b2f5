# vpbook — the two commands of the README:
#   make report   set up, build, and run the main job (output/tour.html once the notebook runner lands)
#   make test     set up, build (release: the numeric tests need optimised code) and run every test
SWIFT ?= swift
RELEASE = $(SWIFT) build -c release

.PHONY: setup build test report bench lint clean

setup:
	@bash scripts/setup.sh

build: setup
	$(RELEASE) --product vpbook

test: setup
	$(RELEASE) --build-tests
	$(SWIFT) test -c release --skip-build

report: build
	@mkdir -p output
	.build/release/vpbook classify --model mobilenet_v2 .cache/assets/images/chelsea.png \
	  .cache/assets/images/coffee.png .cache/assets/images/astronaut.png .cache/assets/images/rocket.jpg \
	  | tee output/classify.txt

bench: setup
	$(SWIFT) run -c release vpbench

lint:
	$(SWIFT) format lint -r Sources Tests

clean:
	rm -rf .build output/*.html
