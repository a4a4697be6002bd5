//! Running edgewatch: the wiring from settings to parts (`app`), one pass (`once`) and the
//! long-running daemon (`daemon`: supervisor, schedule).

pub mod app;
pub mod concurrency;
pub mod daemon;
pub mod fdlimit;
pub mod logfields;
pub mod once;
pub mod settings;
pub mod shard;
