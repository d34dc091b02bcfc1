//! Gadget 1 and Gadget 2: learned Gumbel-max causal mechanisms on libtorch.
//!
//! Not implemented yet: this crate is an empty shell until issue 4 fills it. Nothing here claims to work.
