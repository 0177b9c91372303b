//! Future: an external stimulus on GPIO17 (a pulse the agent emits, or an edge
//! it timestamps) to measure end-to-end latency through a real pin.
//!
//! Not built yet. The plan, so that it slots in without touching the rest:
//! - implement [`Stimulus`] with `rppal` on the Raspberry Pi and with the GPIO
//!   character device (`/dev/gpiochipN`, e.g. via the `gpio-cdev` crate)
//!   elsewhere, each behind a cargo feature of this crate;
//! - the main loop calls [`Stimulus::poll_due`] with the other timers and
//!   [`Stimulus::fire`] when due; timestamps go out in a new message kind
//!   (older decoders skip it, see docs/protocol.md).

use std::time::Instant;

/// A source of external stimuli. No implementation exists yet.
pub trait Stimulus {
    /// When the next pulse is due, if any.
    fn poll_due(&mut self, now: Instant) -> Option<Instant>;
    /// Emit one pulse; returns its CLOCK_MONOTONIC timestamp in ns.
    fn fire(&mut self) -> std::io::Result<u64>;
}
