#!/bin/sh
# Stable, bounded smoke run of the fuzz target fuzz/fuzz_targets/decode_stream.rs
# (cargo-fuzz needs nightly): the same body fed random and mutated streams.
# RT_FUZZ_ITERS (default 200000) and RT_FUZZ_SEED tune it; a few seconds once built.
set -eu
cd "$(dirname "$0")"
RT_FUZZ_ITERS="${RT_FUZZ_ITERS:-200000}" exec cargo test --release --locked -q -p rt-protocol --test fuzz_smoke
