//! The coming `chaos bench` (3.5.7 vs 4.1.0 with confidence intervals): so far its statistics,
//! pure and tested on literal samples ([`stats`]).
pub mod stats;
