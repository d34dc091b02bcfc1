//! The sepsis management simulator, its exact MDP and Gumbel-max SCM off-policy evaluation.
//!
//! Not implemented yet: this crate is an empty shell until issue 5 fills it. Nothing here claims to work.
