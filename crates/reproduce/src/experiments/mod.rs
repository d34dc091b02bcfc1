//! Experiment pieces that more than one part uses, so that parts never import each other.
//!
//! - [`fixed_pair`]: the gadgets of Table 1 columns 3-4's fixed pair, whose trial-0 runs Figure 1b
//!   draws.

pub mod fixed_pair;
