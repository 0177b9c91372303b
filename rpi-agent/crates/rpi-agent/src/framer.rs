//! Payloads from the outbox -> frames on the wire: the sequence number and
//! the encoding buffers, allocated once.

use rt_protocol as p;

pub struct Framer {
    seq: u32,
    body: Box<[u8]>,
    wire: Box<[u8]>,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new()
    }
}

impl Framer {
    pub fn new() -> Self {
        Self::with_wire_len(p::MAX_WIRE)
    }

    /// A framer whose frames must fit `n` bytes (tests: make frames fail).
    pub fn with_wire_len(n: usize) -> Self {
        Framer {
            seq: 0,
            body: vec![0u8; p::frame::MAX_BODY].into_boxed_slice(),
            wire: vec![0u8; n].into_boxed_slice(),
        }
    }

    /// Frame one payload. The sequence number advances only for a frame
    /// that exists, so a decoder's gap count means frames lost on the link.
    pub fn encode(&mut self, kind: u16, payload: &[u8]) -> Result<&[u8], p::frame::EncodeError> {
        let n = p::encode_raw(&mut self.body, self.seq, kind, payload, &mut self.wire)?;
        self.seq = self.seq.wrapping_add(1);
        Ok(&self.wire[..n])
    }
}
