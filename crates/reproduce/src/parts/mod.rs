//! The parts of the reproduction, in the order they run and appear in REPORT.md. A part imports no
//! other part: what two parts share lives in [`crate::experiments`].

mod figure1;
mod figure2;
mod regime_vae;
mod sepsis;
mod table1;

pub use table1::Table1;

use crate::part::AnyPart;

/// Every part, in order; `table1` with its options.
pub fn all(table1: Table1) -> Vec<Box<dyn AnyPart>> {
    vec![
        Box::new(figure1::Figure1),
        Box::new(table1),
        Box::new(sepsis::Sepsis),
        Box::new(regime_vae::RegimeVae),
        Box::new(figure2::Figure2),
    ]
}
