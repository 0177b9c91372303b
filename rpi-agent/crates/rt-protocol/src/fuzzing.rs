//! Shared body of the fuzz target (`fuzz/fuzz_targets/decode_stream.rs`) and
//! of its stable smoke run (`tests/fuzz_smoke.rs`).

use crate::frame::{FrameEncoder, MAX_WIRE};
use crate::stream::{Item, StreamDecoder};

/// Feed `data` to a stream decoder in pieces whose sizes come from the data
/// itself, then check invariants: every decoded message re-encodes into a
/// frame that decodes to the same message; console text never holds 0x00;
/// the counters add up.
pub fn decode_stream(decoder: &mut StreamDecoder, encoder: &mut FrameEncoder, wire: &mut [u8; MAX_WIRE], data: &[u8]) {
    let split = data.first().map(|b| usize::from(*b) + 1).unwrap_or(1);
    let mut messages = 0u64;
    let mut check = |item: Item<'_>| match item {
        Item::Console(text) => assert!(!text.is_empty() && !text.contains(&0)),
        Item::Message { seq, msg } => {
            messages += 1;
            let n = encoder.encode(seq, msg, wire).expect("a decoded message re-encodes");
            let mut again = StreamDecoder::new();
            let mut same = false;
            again.feed(&wire[..n], &mut |i| {
                if let Item::Message { seq: s2, msg: m2 } = i {
                    same = s2 == seq && m2 == msg;
                }
            });
            assert!(same, "re-encoded frame decodes to the same message");
        }
        _ => {}
    };
    for piece in data.chunks(split) {
        decoder.feed(piece, &mut check);
    }
    decoder.finish(&mut check);
    let s = decoder.stats();
    assert!(s.frames >= messages);
    assert!(s.resyncs >= s.crc_errors);
}
