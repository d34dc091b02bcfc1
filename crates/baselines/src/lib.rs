//! Non-learned couplings: independent, inverse-CDF, maximal and LP-optimal.
//!
//! Not implemented yet: this crate is an empty shell until issue 3 fills it. Nothing here claims to work.
