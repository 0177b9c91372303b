//! Splitting a byte stream that mixes console text and frames.
//!
//! Rules (docs/protocol.md, "Decoding a mixed stream"):
//! - bytes are cut into chunks at every 0x00;
//! - a chunk made only of text bytes is console text; text is also emitted at
//!   every newline while the chunk so far is text, so log lines appear live;
//! - a chunk starting with 0x01 is a frame; if it fails COBS/CRC it is counted
//!   as damaged and dropped (never shown as text, never mis-decoded);
//! - a chunk with binary bytes that does not start with 0x01 (a frame whose
//!   leading delimiter was lost behind text or garbage) is tried from each
//!   0x01 inside it; what precedes a good frame is console text if it is text;
//! - a chunk longer than any frame is dropped up to the next 0x00 (resync);
//! - a frame that fails and contains CR LF is retried once with every CR LF
//!   turned back into LF: a tty's ONLCR output conversion, switched on by a
//!   getty or `stty sane` on a console shared with a shell (counted in
//!   `onlcr_frames`; the CRC still decides).

use crate::frame::{decode_frame, FrameError, FRAME_START, MAX_BODY, MAX_ENCODED};
use crate::msg::{kind, Message, PROTOCOL_MAJOR};

/// Chunk buffer: one maximal frame plus room for text ahead of it.
pub const CHUNK_CAP: usize = MAX_ENCODED + 512;
/// How many 0x01 positions are tried in a chunk that lost its leading delimiter.
const SALVAGE_TRIES: usize = 8;

/// Counters of the receiving side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames that passed the CRC.
    pub frames: u64,
    /// Bytes fed.
    pub bytes: u64,
    pub console_bytes: u64,
    /// Frames whose CRC did not match.
    pub crc_errors: u64,
    /// Chunks that were neither text nor a valid COBS frame.
    pub framing_errors: u64,
    /// Frames with a valid CRC whose payload did not decode.
    pub decode_errors: u64,
    /// Frames of a kind this decoder does not know (skipped).
    pub unknown_kinds: u64,
    /// Frames ignored because the peer speaks an incompatible major version.
    pub incompatible: u64,
    /// Damaged stretches dropped (every crc/framing error, every overlong run).
    pub resyncs: u64,
    pub discarded_bytes: u64,
    /// Frames missing according to the sequence numbers.
    pub lost_frames: u64,
    /// Sequence restarts (agent restarted).
    pub seq_resets: u64,
    /// Frames that passed the CRC only once every CR LF in them was turned
    /// back into LF (the tty they went through had ONLCR on). Also in `frames`.
    pub onlcr_frames: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    Frame(FrameError),
    /// Binary bytes that could not be a frame.
    Garbage,
    /// Longer than any frame.
    Overlong,
}

#[derive(Debug)]
pub enum Item<'a> {
    /// Console text (no 0x00; usually a line including its '\n').
    Console(&'a [u8]),
    Message {
        seq: u32,
        msg: &'a Message,
    },
    /// A valid frame of a kind this version does not know.
    Unknown {
        seq: u32,
        kind: u16,
    },
    /// The peer announced a major version this decoder cannot read; frames
    /// other than Hello are skipped until a compatible Hello.
    Incompatible {
        major: u16,
        minor: u16,
    },
    Damaged {
        damage: Damage,
        bytes: usize,
    },
}

pub fn is_text(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | 0x80..=0xff | b'\t' | b'\n' | b'\r' | 0x1b | 0x07 | 0x08 | 0x0c | 0x7f)
}

struct Ctx {
    scratch: [u8; MAX_BODY],
    /// A chunk with its CR LF turned back into LF.
    undo: [u8; CHUNK_CAP],
    stats: Stats,
    last_seq: Option<u32>,
    incompatible: bool,
}

/// Incremental decoder. Large (two frame buffers): box it on the host, make it
/// a static on a microcontroller.
pub struct StreamDecoder {
    buf: [u8; CHUNK_CAP],
    len: usize,
    binary: bool,
    overflow: bool,
    ctx: Ctx,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    pub const fn new() -> Self {
        StreamDecoder {
            buf: [0; CHUNK_CAP],
            len: 0,
            binary: false,
            overflow: false,
            ctx: Ctx {
                scratch: [0; MAX_BODY],
                undo: [0; CHUNK_CAP],
                stats: Stats {
                    frames: 0,
                    bytes: 0,
                    console_bytes: 0,
                    crc_errors: 0,
                    framing_errors: 0,
                    decode_errors: 0,
                    unknown_kinds: 0,
                    incompatible: 0,
                    resyncs: 0,
                    discarded_bytes: 0,
                    lost_frames: 0,
                    seq_resets: 0,
                    onlcr_frames: 0,
                },
                last_seq: None,
                incompatible: false,
            },
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.ctx.stats
    }

    /// True while the peer's major version is not ours.
    pub fn is_incompatible(&self) -> bool {
        self.ctx.incompatible
    }

    pub fn feed(&mut self, data: &[u8], f: &mut dyn FnMut(Item<'_>)) {
        self.ctx.stats.bytes += data.len() as u64;
        for &b in data {
            if b == 0 {
                if self.overflow {
                    self.overflow = false;
                } else {
                    self.ctx.chunk(&self.buf[..self.len], self.binary, f);
                }
                self.len = 0;
                self.binary = false;
                continue;
            }
            if self.overflow {
                self.ctx.stats.discarded_bytes += 1;
                continue;
            }
            if self.len == CHUNK_CAP {
                if self.binary {
                    self.ctx.stats.resyncs += 1;
                    self.ctx.stats.discarded_bytes += self.len as u64 + 1;
                    f(Item::Damaged {
                        damage: Damage::Overlong,
                        bytes: self.len,
                    });
                    self.overflow = true;
                    self.len = 0;
                    continue;
                }
                self.ctx.console(&self.buf[..self.len], f);
                self.len = 0;
            }
            self.buf[self.len] = b;
            self.len += 1;
            if !is_text(b) {
                self.binary = true;
            } else if b == b'\n' && !self.binary {
                self.ctx.console(&self.buf[..self.len], f);
                self.len = 0;
            }
        }
    }

    /// Emit pending console text that has no newline yet (a shell prompt),
    /// e.g. when the source has been idle for a while.
    pub fn flush_console(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        if !self.binary && !self.overflow && self.len > 0 {
            self.ctx.console(&self.buf[..self.len], f);
            self.len = 0;
        }
    }

    /// End of input: treat what is pending as a complete chunk.
    pub fn finish(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        if !self.overflow {
            self.ctx.chunk(&self.buf[..self.len], self.binary, f);
        }
        self.overflow = false;
        self.len = 0;
        self.binary = false;
    }
}

/// Copy `src` into `dst` with every CR LF turned into LF (the inverse of
/// ONLCR, which turns every LF into CR LF; a CR LF that was in the data came
/// out as CR CR LF and comes back as CR LF). Returns the length written.
pub fn undo_onlcr(src: &[u8], dst: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, &b) in src.iter().enumerate() {
        if b == b'\r' && src.get(i + 1) == Some(&b'\n') {
            continue;
        }
        if n == dst.len() {
            break;
        }
        dst[n] = b;
        n += 1;
    }
    n
}

impl Ctx {
    fn console(&mut self, text: &[u8], f: &mut dyn FnMut(Item<'_>)) {
        if !text.is_empty() {
            self.stats.console_bytes += text.len() as u64;
            f(Item::Console(text));
        }
    }

    fn damaged(&mut self, damage: Damage, bytes: usize, f: &mut dyn FnMut(Item<'_>)) {
        self.stats.resyncs += 1;
        self.stats.discarded_bytes += bytes as u64;
        match damage {
            Damage::Frame(FrameError::Crc) => self.stats.crc_errors += 1,
            _ => self.stats.framing_errors += 1,
        }
        f(Item::Damaged { damage, bytes });
    }

    fn chunk(&mut self, chunk: &[u8], binary: bool, f: &mut dyn FnMut(Item<'_>)) {
        if chunk.is_empty() {
            return;
        }
        if !binary {
            return self.console(chunk, f);
        }
        if chunk[0] == FRAME_START {
            if let Err(e) = self.frame(chunk, f) {
                self.damaged(Damage::Frame(e), chunk.len(), f);
            }
            return;
        }
        // A frame may follow text or garbage whose delimiter was lost.
        let mut first_err = None;
        let candidates = chunk.iter().enumerate().skip(1).filter(|(_, &b)| b == FRAME_START);
        for (i, _) in candidates.take(SALVAGE_TRIES) {
            // Only accept a candidate if it decodes cleanly.
            let (prefix, rest) = chunk.split_at(i);
            if self.decodes(rest).is_some() {
                if prefix.iter().all(|&b| is_text(b)) {
                    self.console(prefix, f);
                } else {
                    self.damaged(Damage::Garbage, prefix.len(), f);
                }
                // Decodes again into scratch; cannot fail now.
                if let Err(e) = self.frame(rest, f) {
                    self.damaged(Damage::Frame(e), rest.len(), f);
                }
                return;
            } else if first_err.is_none() {
                first_err = decode_frame(rest, &mut self.scratch).err();
            }
        }
        let damage = match first_err {
            Some(FrameError::Crc) => Damage::Frame(FrameError::Crc),
            _ => Damage::Garbage,
        };
        self.damaged(damage, chunk.len(), f);
    }

    /// Whether `encoded` is a good frame: as it is (`Some(false)`) or once
    /// a tty's ONLCR conversion is undone (`Some(true)`, then in `undo`).
    fn decodes(&mut self, encoded: &[u8]) -> Option<bool> {
        if decode_frame(encoded, &mut self.scratch).is_ok() {
            return Some(false);
        }
        let n = undo_onlcr(encoded, &mut self.undo);
        (n < encoded.len() && decode_frame(&self.undo[..n], &mut self.scratch).is_ok()).then_some(true)
    }

    fn frame(&mut self, encoded: &[u8], f: &mut dyn FnMut(Item<'_>)) -> Result<(), FrameError> {
        let env = match self.decodes(encoded) {
            Some(false) => decode_frame(encoded, &mut self.scratch)?,
            Some(true) => {
                self.stats.onlcr_frames += 1;
                let n = undo_onlcr(encoded, &mut self.undo);
                decode_frame(&self.undo[..n], &mut self.scratch)?
            }
            // Report what is wrong with the frame as it came.
            None => decode_frame(encoded, &mut self.scratch)?,
        };
        self.stats.frames += 1;
        let (seq, k) = (env.seq, env.kind);
        if let Some(last) = self.last_seq {
            let expected = last.wrapping_add(1);
            if seq != expected {
                let gap = seq.wrapping_sub(expected);
                if seq != 0 && gap < (1 << 20) {
                    self.stats.lost_frames += u64::from(gap);
                } else {
                    self.stats.seq_resets += 1;
                }
            }
        }
        self.last_seq = Some(seq);

        if k == kind::HELLO {
            // The version pair leads the Hello payload in every major version.
            if let Ok(((major, minor), _)) = postcard::take_from_bytes::<(u16, u16)>(env.payload) {
                if major != PROTOCOL_MAJOR {
                    self.incompatible = true;
                    self.stats.incompatible += 1;
                    f(Item::Incompatible { major, minor });
                    return Ok(());
                }
                self.incompatible = false;
            }
        }
        if self.incompatible {
            self.stats.incompatible += 1;
            return Ok(());
        }
        match Message::decode_payload(k, env.payload) {
            Ok(Some(msg)) => f(Item::Message { seq, msg: &msg }),
            Ok(None) => {
                self.stats.unknown_kinds += 1;
                f(Item::Unknown { seq, kind: k });
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                f(Item::Damaged {
                    damage: Damage::Frame(FrameError::Envelope),
                    bytes: encoded.len(),
                });
            }
        }
        Ok(())
    }
}
