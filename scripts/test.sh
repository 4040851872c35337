#!/usr/bin/env bash
# Runs every test of the project from a fresh clone: the Rust tests of the workspace (unit,
# integration, property and doc tests, with the RocksDB backend), pyflink-core's test of a build
# without RocksDB, then the Python package's tests against its wheel, built in the dev profile
# (sharing the tests' build) and installed into the virtual environment of scripts/dev-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/dev-env.sh

cargo test --workspace
# The workspace's tests build pyflink-core with the feature `rocksdb` (the Python package turns it
# on); this builds it alone, without the feature, to see the error that names it.
cargo test -p pyflink-core --test without_rocksdb

MATURIN_PEP517_ARGS="--profile dev" pip install -q --disable-pip-version-check --force-reinstall --no-deps \
    --no-build-isolation ./pyflink-py
pytest -q pyflink-py/tests
