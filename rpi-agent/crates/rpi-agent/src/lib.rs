//! What the crate's binaries share: the agent (`src/main.rs`, which keeps
//! its own modules) and rtt-bind (`src/bin/rtt-bind.rs`). Only what both
//! need lives here, so rtt-bind does not build the agent's modules.

pub mod duration;
