//! The pipeline for one target: probe → enrich → judge. What the daemon and `--once` share;
//! only the loop around it and the output differ.

pub mod engine;
pub mod outcome;
