//! `gumbel-gadgets evaluate`'s computation (`methods::evaluate`) per method, on the pairs of the
//! README's "Your own queries": K = 10, p's logits N(0, 2^2), q's those plus N(0, 1), x_obs drawn
//! from p, the reward h = (0, 1, ..., 9). One iteration scores 10,000 pairs (joints and
//! counterfactuals, exact) for each of the six methods without checkpoints, and 1,000 pairs for a
//! fresh Gadget 2 of the paper's size (hidden [1024, 1024], |Z| = 20; untrained weights cost the same
//! as trained ones). Criterion's throughput is pairs/s. The pairs are generated in Rust from seed 2
//! (pair i from stream i), the README's distribution rather than its Python stream. Rayon and
//! libtorch use their default thread counts, as the CLI's `evaluate` does.

#![allow(clippy::unwrap_used)] // Benchmarks, like tests, fail loudly on bad fixtures.
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gadgets::{Gadget, GadgetConfig, GadgetKind};
use gumbel_core::rng::stream;
use gumbel_core::{Categorical, CostMatrix};
use methods::evaluate::{evaluate, Candidate, Cost, Settings, DEFAULT_METHODS};
use methods::pair_file::{PairRow, PairSource};
use methods::Spelling;
use rand_distr::{Distribution, Normal};

const K: usize = 10;

/// Row i of the README's distribution, from stream (2, i).
fn row(index: usize) -> PairRow {
    let mut rng = stream(2, index as u64);
    let p_noise = Normal::new(0.0, 2.0).unwrap();
    let a: Vec<f64> = (0..K).map(|_| p_noise.sample(&mut rng)).collect();
    let b: Vec<f64> =
        a.iter().map(|x| x + Normal::new(0.0, 1.0).unwrap().sample(&mut rng)).collect();
    let p = Categorical::from_logits(&a).unwrap();
    let observed = Some(p.sample(&mut rng));
    PairRow { index, p, q: Categorical::from_logits(&b).unwrap(), observed, reward: None }
}

/// Rows held in memory, read (copied) as a file's would be.
struct InMemory<'a> {
    rows: std::slice::Iter<'a, PairRow>,
}

impl PairSource for InMemory<'_> {
    fn next_rows(&mut self, n: usize) -> methods::Result<Vec<PairRow>> {
        Ok(self.rows.by_ref().take(n).cloned().collect())
    }

    fn outcomes(&self) -> Option<usize> {
        Some(K)
    }

    fn name(&self) -> &str {
        "pairs"
    }
}

fn evaluate_methods(c: &mut Criterion) {
    let h: Vec<f64> = (0..K).map(|i| i as f64).collect();
    let cost = CostMatrix::squared_reward(&h).unwrap();
    let settings = Settings {
        cost: Cost::Shared { cost: &cost, reward: Some(&h) },
        split: None,
        samples: 10_000,
        seed: 0,
        spelling: Spelling::Flags,
    };
    let rows: Vec<PairRow> = (0..10_000).map(row).collect();
    let gadget =
        Gadget::new(GadgetConfig::paper(GadgetKind::Gadget2, K), tch::Device::Cpu, 0).unwrap();
    let mut candidates: Vec<(Candidate, usize)> = DEFAULT_METHODS
        .iter()
        .map(|&m| (Candidate::method(m, Some(&cost), Spelling::Flags).unwrap(), 10_000))
        .collect();
    candidates.push((Candidate::gadget(&gadget, "fresh"), 1_000));

    let mut group = c.benchmark_group("evaluate_k10");
    group.sample_size(10);
    for (candidate, pairs) in &candidates {
        group.throughput(Throughput::Elements(*pairs as u64));
        let name = candidate.name().to_owned();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut source = InMemory { rows: rows[..*pairs].iter() };
                evaluate(&mut source, std::slice::from_ref(candidate), &settings).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, evaluate_methods);
criterion_main!(benches);
