//! A discrete-latent VAE that infers unknown interventional regimes of a known-DAG SCM.
//!
//! Not implemented yet: this crate is an empty shell until issue 6 fills it. Nothing here claims to work.
