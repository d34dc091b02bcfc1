//! Criterion benchmarks live in `benches/`, one file per crate they measure; run them with
//! `cargo xtask bench` (or `cargo bench -p bench`). This library is empty on purpose.
