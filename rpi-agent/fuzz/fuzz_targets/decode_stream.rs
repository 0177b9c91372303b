//! cargo +nightly fuzz run decode_stream
//! Stable smoke run of the same body: crates/rt-protocol/tests/fuzz_smoke.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rt_protocol::{fuzzing, FrameEncoder, StreamDecoder, MAX_WIRE};

fuzz_target!(|data: &[u8]| {
    let mut dec = Box::new(StreamDecoder::new());
    let mut enc = Box::new(FrameEncoder::new());
    let mut wire = Box::new([0u8; MAX_WIRE]);
    fuzzing::decode_stream(&mut dec, &mut enc, &mut wire, data);
});
