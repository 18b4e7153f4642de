# Shortcuts for people who use `just`; every recipe is a plain cargo/chaos command.

# Run the whole test suite (what .ci/run runs).
test:
    cargo test --release

# Lints as CI would want them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Bring the local environment up, and down again.
up:
    cargo run --release -- env up

down:
    cargo run --release -- env down

status:
    cargo run --release -- env status
