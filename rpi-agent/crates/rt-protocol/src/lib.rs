//! rt-tracer wire protocol between `rpi-agent` (target) and `rtdecode` (host).
//!
//! `no_std`, no allocation: messages use fixed-capacity `heapless` containers,
//! are serialized with postcard, wrapped in an [`Envelope`] (sequence number,
//! kind, payload), protected by a CRC-32 and COBS-framed with 0x00 delimiters
//! so that frames can share a serial console with plain text.
//! The format is specified in `docs/protocol.md`.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

pub mod frame;
pub mod fuzzing;
pub mod msg;
pub mod stream;

pub use frame::{decode_frame, encode_raw, Envelope, FrameEncoder, FrameError, MAX_PAYLOAD, MAX_WIRE};
pub use msg::*;
pub use stream::{undo_onlcr, Damage, Item, Stats, StreamDecoder};

#[cfg(feature = "std")]
impl std::error::Error for frame::FrameError {}
#[cfg(feature = "std")]
impl std::error::Error for frame::EncodeError {}

impl core::fmt::Display for frame::FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::Cobs => f.write_str("invalid COBS framing"),
            FrameError::TooShort => f.write_str("frame too short"),
            FrameError::Format(b) => write!(f, "unknown frame format {b}"),
            FrameError::Crc => f.write_str("CRC mismatch"),
            FrameError::Envelope => f.write_str("malformed envelope"),
        }
    }
}

impl core::fmt::Display for frame::EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("message too large for a frame")
    }
}
