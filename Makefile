# raftplay. `make` builds the course replica ./3700kvstore (the course grader runs it).
#   make            build ./3700kvstore (release)
#   make gradesim   build the grader, target/release/gradesim
#   make run        the main job: build the playground and serve it on localhost
#   make test       every test suite, installing what they need first
#   make www        build the playground's WebAssembly package into www/pkg
#   make grade      score the replica on the grader configs in the simulator
#   make bench      benchmarks
CARGO ?= cargo

.PHONY: all 3700kvstore gradesim run test www grade bench clean

all: 3700kvstore

3700kvstore:
	$(CARGO) build --release --bin 3700kvstore
	cp target/release/3700kvstore ./3700kvstore

gradesim:
	$(CARGO) build --release --bin gradesim

run:
	./scripts/run.sh

test:
	./scripts/test.sh

www:
	./scripts/www.sh

grade:
	./scripts/grade.sh

bench:
	./scripts/bench.sh

clean:
	$(CARGO) clean
	rm -rf ./3700kvstore www/pkg
