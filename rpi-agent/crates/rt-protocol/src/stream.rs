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
//!
//! Pull API: [`StreamDecoder::next_item`] takes bytes from the caller's slice
//! until it has an item and hands it out; [`StreamDecoder::feed`] is the same
//! with a callback. Each frame is COBS-decoded and CRC-checked once into the
//! decoder's scratch buffer (twice only when the ONLCR retry is needed) and its
//! payload is deserialized once into the decoder's message slot, which the
//! item borrows.

use heapless::Deque;

use crate::frame::{check_frame, Checked, FrameError, FRAME_START, MAX_BODY, MAX_ENCODED};
use crate::msg::{kind, Message, PROTOCOL_MAJOR, PROTOCOL_MINOR};

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

/// An item the decoder has found but not handed out yet. A chunk yields two
/// at most (text or garbage ahead of a frame, then the frame).
#[derive(Debug, Clone, Copy)]
enum Out {
    /// Console text: `buf[start..end]` (the buffer is left alone until it is out).
    Console {
        start: usize,
        end: usize,
    },
    /// The message in `Track::msg`.
    Message {
        seq: u32,
    },
    Unknown {
        seq: u32,
        kind: u16,
    },
    Incompatible {
        major: u16,
        minor: u16,
    },
    Damaged {
        damage: Damage,
        bytes: usize,
    },
}

/// What the caller asked for once the input is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    None,
    /// Source idle: pending text without a newline is console text.
    Console,
    /// End of input: pending bytes are a complete chunk.
    End,
}

/// Receiver state other than the byte buffers, so a checked frame in
/// `scratch` can be read while this is updated.
struct Track {
    stats: Stats,
    last_seq: Option<u32>,
    incompatible: bool,
    /// Kinds brought by later minors are unknown to this decoder.
    known_minor: u16,
    /// The last decoded message, borrowed by `Item::Message`.
    msg: Option<Message>,
    out: Deque<Out, 2>,
    /// Frame decodes (COBS + CRC) done, to pin "once per good frame" in tests.
    #[cfg(test)]
    checks: u64,
}

struct Ctx {
    scratch: [u8; MAX_BODY],
    /// A chunk with its CR LF turned back into LF.
    undo: [u8; CHUNK_CAP],
    t: Track,
}

/// Incremental decoder. Large (two frame buffers and a message): box it on
/// the host, make it a static on a microcontroller.
pub struct StreamDecoder {
    buf: [u8; CHUNK_CAP],
    len: usize,
    binary: bool,
    overflow: bool,
    flush: Flush,
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
            flush: Flush::None,
            ctx: Ctx {
                scratch: [0; MAX_BODY],
                undo: [0; CHUNK_CAP],
                t: Track {
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
                    known_minor: PROTOCOL_MINOR,
                    msg: None,
                    out: Deque::new(),
                    #[cfg(test)]
                    checks: 0,
                },
            },
        }
    }

    /// A decoder that knows only the kinds of protocol 1.`minor` and skips
    /// later ones as unknown, as that version's decoder does: what an older
    /// rtdecode makes of a newer agent's stream, checked without keeping
    /// old code (frame and stream handling are the same in every 1.x).
    pub fn knowing_minor(minor: u16) -> Self {
        let mut d = Self::new();
        d.ctx.t.known_minor = minor;
        d
    }

    pub fn stats(&self) -> &Stats {
        &self.ctx.t.stats
    }

    /// True while the peer's major version is not ours.
    pub fn is_incompatible(&self) -> bool {
        self.ctx.t.incompatible
    }

    /// The next item of the stream. Takes bytes from the front of `input` until
    /// it has one (a line of text, a frame, a damaged stretch) and returns it;
    /// `None` once `input` is used up and nothing is pending. The item borrows
    /// the decoder, so it is gone before the next call:
    ///
    /// ```
    /// # use rt_protocol::{Item, StreamDecoder};
    /// let mut dec = Box::new(StreamDecoder::new());
    /// let mut rest: &[u8] = b"login: ";
    /// dec.end();
    /// while let Some(item) = dec.next_item(&mut rest) {
    ///     assert!(matches!(item, Item::Console(b"login: ")));
    /// }
    /// ```
    pub fn next_item(&mut self, input: &mut &[u8]) -> Option<Item<'_>> {
        self.next_with_stats(input).map(|(item, _)| item)
    }

    /// [`Self::next_item`] with the counters as of this item (they borrow
    /// the decoder too, so they cannot be read beside the item otherwise).
    pub fn next_with_stats(&mut self, input: &mut &[u8]) -> Option<(Item<'_>, &Stats)> {
        while self.ctx.t.out.is_empty() {
            match input.split_first() {
                Some((&b, rest)) => {
                    if self.push(b) {
                        self.ctx.t.stats.bytes += 1;
                        *input = rest;
                    }
                }
                None => match core::mem::replace(&mut self.flush, Flush::None) {
                    Flush::None => break,
                    Flush::Console => {
                        if !self.binary && !self.overflow && self.len > 0 {
                            self.ctx.t.console(0, self.len);
                            self.len = 0;
                        }
                    }
                    Flush::End => {
                        if !self.overflow {
                            self.ctx.chunk(&self.buf[..self.len], self.binary);
                        }
                        self.overflow = false;
                        self.len = 0;
                        self.binary = false;
                    }
                },
            }
        }
        let out = self.ctx.t.out.pop_front()?;
        let item = match out {
            Out::Console { start, end } => Item::Console(&self.buf[start..end]),
            Out::Message { seq } => Item::Message {
                seq,
                msg: self.ctx.t.msg.as_ref()?,
            },
            Out::Unknown { seq, kind } => Item::Unknown { seq, kind },
            Out::Incompatible { major, minor } => Item::Incompatible { major, minor },
            Out::Damaged { damage, bytes } => Item::Damaged { damage, bytes },
        };
        Some((item, &self.ctx.t.stats))
    }

    /// The source is idle: once the input is used up, [`Self::next_item`]
    /// hands out pending text that has no newline yet (a shell prompt).
    pub fn idle(&mut self) {
        if self.flush == Flush::None {
            self.flush = Flush::Console;
        }
    }

    /// End of input: once the input is used up, [`Self::next_item`] treats
    /// what is pending as a complete chunk.
    pub fn end(&mut self) {
        self.flush = Flush::End;
    }

    /// [`Self::next_item`] over all of `data`, each item to `f`.
    pub fn feed(&mut self, data: &[u8], f: &mut dyn FnMut(Item<'_>)) {
        let mut rest = data;
        while let Some(item) = self.next_item(&mut rest) {
            f(item);
        }
    }

    /// Emit pending console text that has no newline yet (a shell prompt),
    /// e.g. when the source has been idle for a while.
    pub fn flush_console(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        self.idle();
        self.feed(&[], f);
    }

    /// End of input: treat what is pending as a complete chunk.
    pub fn finish(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        self.end();
        self.feed(&[], f);
    }

    /// Take one byte. `false`: not taken, because the buffer holds text that
    /// is being handed out (a full buffer of text); take it again after.
    fn push(&mut self, b: u8) -> bool {
        let t = &mut self.ctx.t;
        if b == 0 {
            if self.overflow {
                self.overflow = false;
            } else {
                self.ctx.chunk(&self.buf[..self.len], self.binary);
            }
            self.len = 0;
            self.binary = false;
            return true;
        }
        if self.overflow {
            t.stats.discarded_bytes += 1;
            return true;
        }
        if self.len == CHUNK_CAP {
            if self.binary {
                t.stats.resyncs += 1;
                t.stats.discarded_bytes += self.len as u64 + 1;
                t.emit(Out::Damaged {
                    damage: Damage::Overlong,
                    bytes: self.len,
                });
                self.overflow = true;
                self.len = 0;
                return true;
            }
            t.console(0, self.len);
            self.len = 0;
            return false;
        }
        self.buf[self.len] = b;
        self.len += 1;
        if !is_text(b) {
            self.binary = true;
        } else if b == b'\n' && !self.binary {
            t.console(0, self.len);
            self.len = 0;
        }
        true
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

impl Track {
    fn emit(&mut self, o: Out) {
        // Never full: a chunk yields two items at most, and bytes are only
        // taken while nothing is pending.
        let _ = self.out.push_back(o);
    }

    fn console(&mut self, start: usize, end: usize) {
        if end > start {
            self.stats.console_bytes += (end - start) as u64;
            self.emit(Out::Console { start, end });
        }
    }

    fn damaged(&mut self, damage: Damage, bytes: usize) {
        self.stats.resyncs += 1;
        self.stats.discarded_bytes += bytes as u64;
        match damage {
            Damage::Frame(FrameError::Crc) => self.stats.crc_errors += 1,
            _ => self.stats.framing_errors += 1,
        }
        self.emit(Out::Damaged { damage, bytes });
    }

    /// A checked frame: sequence accounting, the version gate, the one
    /// deserialization of its payload.
    fn frame(&mut self, c: &Checked, payload: &[u8], onlcr: bool, encoded_len: usize) {
        self.stats.frames += 1;
        if onlcr {
            self.stats.onlcr_frames += 1;
        }
        let (seq, k) = (c.seq, c.kind);
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
            if let Ok(((major, minor), _)) = postcard::take_from_bytes::<(u16, u16)>(payload) {
                if major != PROTOCOL_MAJOR {
                    self.incompatible = true;
                    self.stats.incompatible += 1;
                    return self.emit(Out::Incompatible { major, minor });
                }
                self.incompatible = false;
            }
        }
        if self.incompatible {
            self.stats.incompatible += 1;
            return;
        }
        let decoded = match kind::since_minor(k) {
            Some(m) if m <= self.known_minor => Message::decode_payload(k, payload),
            _ => Ok(None),
        };
        match decoded {
            Ok(Some(msg)) => {
                self.msg = Some(msg);
                self.emit(Out::Message { seq });
            }
            Ok(None) => {
                self.stats.unknown_kinds += 1;
                self.emit(Out::Unknown { seq, kind: k });
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                self.emit(Out::Damaged {
                    damage: Damage::Frame(FrameError::Envelope),
                    bytes: encoded_len,
                });
            }
        }
    }
}

impl Ctx {
    /// Check `encoded` as a frame into `scratch`: as it came, or once a tty's
    /// ONLCR conversion is undone (`true`). The error is the one of the frame
    /// as it came.
    fn open(&mut self, encoded: &[u8]) -> Result<(Checked, bool), FrameError> {
        #[cfg(test)]
        {
            self.t.checks += 1;
        }
        let err = match check_frame(encoded, &mut self.scratch) {
            Ok(c) => return Ok((c, false)),
            Err(e) => e,
        };
        if !encoded.windows(2).any(|w| w == b"\r\n") {
            return Err(err);
        }
        let n = undo_onlcr(encoded, &mut self.undo);
        #[cfg(test)]
        {
            self.t.checks += 1;
        }
        check_frame(&self.undo[..n], &mut self.scratch)
            .map(|c| (c, true))
            .map_err(|_| err)
    }

    fn chunk(&mut self, chunk: &[u8], binary: bool) {
        if chunk.is_empty() {
            return;
        }
        if !binary {
            return self.t.console(0, chunk.len());
        }
        if chunk[0] == FRAME_START {
            match self.open(chunk) {
                Ok((c, onlcr)) => self.t.frame(&c, &self.scratch[c.payload.clone()], onlcr, chunk.len()),
                Err(e) => self.t.damaged(Damage::Frame(e), chunk.len()),
            }
            return;
        }
        // A frame may follow text or garbage whose delimiter was lost.
        let mut first_err = None;
        let candidates = chunk.iter().enumerate().skip(1).filter(|(_, &b)| b == FRAME_START);
        for (i, _) in candidates.take(SALVAGE_TRIES) {
            let (prefix, rest) = chunk.split_at(i);
            match self.open(rest) {
                Ok((c, onlcr)) => {
                    if prefix.iter().all(|&b| is_text(b)) {
                        self.t.console(0, i);
                    } else {
                        self.t.damaged(Damage::Garbage, prefix.len());
                    }
                    self.t.frame(&c, &self.scratch[c.payload.clone()], onlcr, rest.len());
                    return;
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let damage = match first_err {
            Some(FrameError::Crc) => Damage::Frame(FrameError::Crc),
            _ => Damage::Garbage,
        };
        self.t.damaged(damage, chunk.len());
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::frame::{FrameEncoder, MAX_WIRE};
    use crate::msg::{Dropped, Message};

    fn wire(seq: u32) -> Vec<u8> {
        let mut enc = std::boxed::Box::new(FrameEncoder::new());
        let mut out = std::vec![0u8; MAX_WIRE];
        let msg = Message::Dropped(Dropped {
            t_ns: u64::from(seq),
            violations: 10, // a 0x0a byte: ONLCR has something to convert
            worst: 2,
            exits: 3,
        });
        let n = enc.encode(seq, &msg, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[derive(Debug, PartialEq)]
    enum Seen {
        Text(Vec<u8>),
        Msg(u32),
        Damaged,
    }

    fn pull(dec: &mut StreamDecoder, mut input: &[u8], end: bool) -> Vec<Seen> {
        if end {
            dec.end();
        }
        let mut seen = Vec::new();
        while let Some(i) = dec.next_item(&mut input) {
            seen.push(match i {
                Item::Console(t) => Seen::Text(t.to_vec()),
                Item::Message { seq, .. } => Seen::Msg(seq),
                _ => Seen::Damaged,
            });
        }
        assert!(input.is_empty());
        seen
    }

    #[test]
    fn a_good_frame_is_decoded_once() {
        let mut s = Vec::new();
        for seq in 0..5 {
            s.extend(wire(seq));
        }
        let mut dec = std::boxed::Box::new(StreamDecoder::new());
        let seen = pull(&mut dec, &s, true);
        assert_eq!(seen, (0..5).map(Seen::Msg).collect::<Vec<_>>());
        assert_eq!(dec.ctx.t.checks, 5);
    }

    #[test]
    fn a_salvaged_frame_is_decoded_once() {
        // Text glued to a frame whose leading delimiter was lost.
        let mut s = b"login: ".to_vec();
        s.extend(&wire(0)[1..]);
        let mut dec = std::boxed::Box::new(StreamDecoder::new());
        let seen = pull(&mut dec, &s, false);
        assert_eq!(seen, [Seen::Text(b"login: ".to_vec()), Seen::Msg(0)]);
        assert_eq!(dec.ctx.t.checks, 1);
    }

    #[test]
    fn an_onlcr_frame_costs_one_retry_only() {
        let mut f = Vec::new();
        for &b in &wire(0) {
            if b == b'\n' {
                f.push(b'\r');
            }
            f.push(b);
        }
        let mut dec = std::boxed::Box::new(StreamDecoder::new());
        assert_eq!(pull(&mut dec, &f, false), [Seen::Msg(0)]);
        assert_eq!(dec.ctx.t.checks, 2);
        assert_eq!(dec.stats().onlcr_frames, 1);
    }

    #[test]
    fn pull_hands_out_items_in_stream_order_across_any_split() {
        let mut s = b"boot\nprompt ".to_vec();
        s.extend(wire(0));
        s.extend_from_slice(b"a line\n");
        let mut bad = wire(1);
        let mid = bad.len() / 2;
        bad[mid] ^= 0x40;
        s.extend(bad);
        s.extend(wire(2));
        s.extend_from_slice(b"# ");
        let want = [
            Seen::Text(b"boot\n".to_vec()),
            Seen::Text(b"prompt ".to_vec()),
            Seen::Msg(0),
            Seen::Text(b"a line\n".to_vec()),
            Seen::Damaged,
            Seen::Msg(2),
            Seen::Text(b"# ".to_vec()),
        ];
        for split in [1, 2, 7, 64, s.len()] {
            let mut dec = std::boxed::Box::new(StreamDecoder::new());
            let mut seen = Vec::new();
            for piece in s.chunks(split) {
                seen.extend(pull(&mut dec, piece, false));
            }
            seen.extend(pull(&mut dec, &[], true));
            assert_eq!(seen, want, "split {split}");
            assert_eq!(dec.stats().bytes, s.len() as u64);
        }
    }

    #[test]
    fn a_full_buffer_of_text_is_handed_out_before_more_is_taken() {
        let s = std::vec![b'x'; CHUNK_CAP + 10];
        let mut dec = std::boxed::Box::new(StreamDecoder::new());
        let seen = pull(&mut dec, &s, true);
        assert_eq!(
            seen,
            [Seen::Text(std::vec![b'x'; CHUNK_CAP]), Seen::Text(std::vec![b'x'; 10])]
        );
    }

    #[test]
    fn idle_hands_out_a_prompt_and_keeps_a_partial_frame() {
        let mut dec = std::boxed::Box::new(StreamDecoder::new());
        assert!(pull(&mut dec, b"# ", false).is_empty());
        dec.idle();
        assert_eq!(pull(&mut dec, &[], false), [Seen::Text(b"# ".to_vec())]);
        let w = wire(0);
        let (a, b) = w.split_at(w.len() / 2);
        assert!(pull(&mut dec, a, false).is_empty());
        dec.idle();
        assert!(pull(&mut dec, &[], false).is_empty(), "half a frame is not text");
        assert_eq!(pull(&mut dec, b, false), [Seen::Msg(0)]);
    }
}
