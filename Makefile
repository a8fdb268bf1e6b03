# raftplay. `make` builds the course replica ./3700kvstore (the course grader runs it).
#   make            build ./3700kvstore (release)
#   make run        the main job (see README)
#   make test       every test suite, installing what they need first
#   make bench      benchmarks
CARGO ?= cargo

.PHONY: all 3700kvstore run test bench clean

all: 3700kvstore

3700kvstore:
	$(CARGO) build --release --bin 3700kvstore
	cp target/release/3700kvstore ./3700kvstore

run:
	./scripts/run.sh

test:
	./scripts/test.sh

bench:
	./scripts/bench.sh

clean:
	$(CARGO) clean
	rm -f ./3700kvstore
