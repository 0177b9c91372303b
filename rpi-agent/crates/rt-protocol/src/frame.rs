//! Framing: `0x00 | COBS(body) | 0x00` where
//! `body = 0x00 (format 0) | postcard(Envelope) | CRC-32/ISO-HDLC(LE) of what precedes`.
//!
//! The leading 0x00 of the body makes every encoded frame start with the byte
//! 0x01, which never occurs in console text, so a decoder can tell a frame from
//! text as soon as it sees its first byte.

use crc::{Crc, CRC_32_ISO_HDLC};
use serde::{Deserialize, Serialize};

use crate::msg::Message;

/// Frame delimiter.
pub const DELIMITER: u8 = 0x00;
/// First byte of every COBS-encoded frame (because body[0] == FORMAT_0).
pub const FRAME_START: u8 = 0x01;
/// Body format byte.
pub const FORMAT_0: u8 = 0x00;

/// Largest payload an encoder produces / a decoder accepts.
pub const MAX_PAYLOAD: usize = 8192;
/// Largest body: format + envelope header (seq 5, kind 3, len 2) + payload + CRC.
pub const MAX_BODY: usize = 1 + 5 + 3 + 2 + MAX_PAYLOAD + 4;
/// Largest COBS-encoded body (without delimiters).
pub const MAX_ENCODED: usize = cobs::max_encoding_length(MAX_BODY);
/// Largest frame on the wire, delimiters included.
pub const MAX_WIRE: usize = MAX_ENCODED + 2;

pub static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// What travels inside every frame. Its layout never changes within a major
/// version, so a decoder can always read `seq` and `kind` and skip unknown kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<'a> {
    /// +1 per frame, from 0 at agent start (wraps).
    pub seq: u32,
    pub kind: u16,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The payload does not fit MAX_PAYLOAD or the output buffer is too small.
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Not a valid COBS sequence, or too long.
    Cobs,
    /// Shorter than the smallest possible frame.
    TooShort,
    /// Unknown body format byte.
    Format(u8),
    /// CRC mismatch.
    Crc,
    /// CRC fine but the envelope does not parse (should not happen).
    Envelope,
}

/// Encodes frames into caller-provided buffers; holds its own scratch space so
/// nothing is allocated per frame.
pub struct FrameEncoder {
    payload: [u8; MAX_PAYLOAD],
    body: [u8; MAX_BODY],
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    pub const fn new() -> Self {
        FrameEncoder {
            payload: [0; MAX_PAYLOAD],
            body: [0; MAX_BODY],
        }
    }

    /// Encode `msg` with sequence number `seq` into `out` (which should hold
    /// MAX_WIRE bytes); returns the number of bytes written, delimiters included.
    pub fn encode(&mut self, seq: u32, msg: &Message, out: &mut [u8]) -> Result<usize, EncodeError> {
        let n = msg
            .encode_payload(&mut self.payload)
            .map_err(|_| EncodeError::TooLarge)?
            .len();
        let payload = &self.payload[..n];
        encode_raw(&mut self.body, seq, msg.kind(), payload, out)
    }
}

/// Encode an arbitrary (kind, payload) pair; `body` is scratch of MAX_BODY bytes.
pub fn encode_raw(body: &mut [u8], seq: u32, kind: u16, payload: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    if payload.len() > MAX_PAYLOAD || body.len() < 5 {
        return Err(EncodeError::TooLarge);
    }
    body[0] = FORMAT_0;
    let env = Envelope { seq, kind, payload };
    let env_len = postcard::to_slice(&env, &mut body[1..])
        .map_err(|_| EncodeError::TooLarge)?
        .len();
    let crc_at = 1 + env_len;
    if body.len() < crc_at + 4 {
        return Err(EncodeError::TooLarge);
    }
    let crc = CRC32.checksum(&body[..crc_at]);
    body[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    let body_len = crc_at + 4;
    if out.len() < cobs::max_encoding_length(body_len) + 2 {
        return Err(EncodeError::TooLarge);
    }
    out[0] = DELIMITER;
    let n = cobs::try_encode(&body[..body_len], &mut out[1..]).map_err(|_| EncodeError::TooLarge)?;
    out[1 + n] = DELIMITER;
    Ok(n + 2)
}

/// Decode one frame (the bytes between two delimiters, delimiters excluded)
/// into `scratch` (at least MAX_BODY bytes); the returned envelope borrows it.
pub fn decode_frame<'s>(encoded: &[u8], scratch: &'s mut [u8]) -> Result<Envelope<'s>, FrameError> {
    let c = check_frame(encoded, scratch)?;
    Ok(Envelope {
        seq: c.seq,
        kind: c.kind,
        payload: &scratch[c.payload],
    })
}

/// A frame that passed COBS, format and CRC checks, its body in a scratch
/// buffer. Holds no borrow, so the caller can try another decode into the
/// same scratch when this one fails (the stream decoder's ONLCR retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub seq: u32,
    pub kind: u16,
    /// Where the envelope's payload lies in the scratch buffer.
    pub payload: core::ops::Range<usize>,
}

/// COBS-decode `encoded` into `scratch`, check the format byte and the CRC,
/// and parse the envelope: all the work of decoding a frame, done once.
pub(crate) fn check_frame(encoded: &[u8], scratch: &mut [u8]) -> Result<Checked, FrameError> {
    if encoded.len() > MAX_ENCODED {
        return Err(FrameError::Cobs);
    }
    let n = cobs::decode(encoded, scratch).map_err(|_| FrameError::Cobs)?;
    let body = &scratch[..n];
    // format + seq + kind + len + crc
    if body.len() < 1 + 3 + 4 {
        return Err(FrameError::TooShort);
    }
    if body[0] != FORMAT_0 {
        return Err(FrameError::Format(body[0]));
    }
    let (data, crc) = body.split_at(body.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if CRC32.checksum(data) != want {
        return Err(FrameError::Crc);
    }
    match postcard::from_bytes::<Envelope<'_>>(&data[1..]) {
        Ok(env) if env.payload.len() <= MAX_PAYLOAD => {
            // The payload is a sub-slice of `body`: its offset is plain address arithmetic.
            let start = env.payload.as_ptr() as usize - body.as_ptr() as usize;
            Ok(Checked {
                seq: env.seq,
                kind: env.kind,
                payload: start..start + env.payload.len(),
            })
        }
        _ => Err(FrameError::Envelope),
    }
}
