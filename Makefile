# The two commands: `make run` brings the system up, `make test` runs every check.
.PHONY: run test fmt lint clean-data

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# Forget the local Temporal state (workflows) kept between runs.
clean-data:
	rm -rf .data
