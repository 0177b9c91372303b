//! rtdecode: host side of the rt-tracer serial link (see docs/protocol.md).
//! The binary (`src/main.rs`) reads a source; this library renders.

pub mod fmt;
pub mod json;
pub mod source;
pub mod view;

use std::io::Write;

use rt_protocol::StreamDecoder;

/// Feed bytes to the decoder and the view; stops at the first output error.
pub fn feed<W: Write>(dec: &mut StreamDecoder, view: &mut view::View<W>, bytes: &[u8]) -> std::io::Result<()> {
    let mut err = Ok(());
    dec.feed(bytes, &mut |item| {
        if err.is_ok() {
            err = view.item(item);
        }
    });
    err?;
    view.link_due(dec.stats())
}

/// End of input: what is pending, then the final table and link summary.
pub fn finish<W: Write>(dec: &mut StreamDecoder, view: &mut view::View<W>) -> std::io::Result<()> {
    let mut err = Ok(());
    dec.finish(&mut |item| {
        if err.is_ok() {
            err = view.item(item);
        }
    });
    err?;
    view.link_due(dec.stats())?;
    view.finish(dec.stats())
}

/// Decode a complete capture into `out` (text or JSON lines).
pub fn decode_capture<W: Write>(bytes: &[u8], json: bool, out: W) -> std::io::Result<W> {
    let mut dec = Box::new(StreamDecoder::new());
    let mut view = view::View::new(out, json);
    feed(&mut dec, &mut view, bytes)?;
    finish(&mut dec, &mut view)?;
    Ok(view.into_inner())
}
