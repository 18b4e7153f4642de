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

# Run a scenario end to end (default: the main job, the S3 outage).
run scenario="scenarios/s3-outage.toml":
    cargo run --release -- run {{scenario}}

# The CI smoke scenario: a healthy system passes it with exit code 0.
smoke:
    cargo run --release -- run scenarios/ci-smoke.toml

# A suite of scenarios on one environment, with its acceptance report (default: nightly).
suite file="suites/nightly.toml":
    cargo run --release -- suite {{file}}

# TPC-DS on both versions with confidence intervals (default: the quick set; e.g.
# `just bench --queries all --baseline reports/bench-...`).
bench *args:
    cargo run --release -- bench {{args}}

# Check every shipped scenario file.
validate:
    cargo run --release -- validate scenarios/*.toml

# The kind cluster of the Kubernetes platform (built on this machine the first time).
cluster-up:
    cargo run --release -- cluster up

cluster-down:
    cargo run --release -- cluster down

# The Helm charts: lint and render them with the real Helm, then install them on a real
# kube-apiserver under restricted Pod Security (Helm, etcd and kube-apiserver are built into the
# cache the first time).
charts:
    cargo test --release --test charts --test charts_api

# Install `chaos` into ~/.cargo/bin with completions for bash and its man page.
install:
    cargo install --path .
    mkdir -p ~/.local/share/bash-completion/completions ~/.local/share/man/man1
    chaos completions bash > ~/.local/share/bash-completion/completions/chaos
    chaos man > ~/.local/share/man/man1/chaos.1
