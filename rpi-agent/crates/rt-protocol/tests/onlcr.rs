//! A console tty with ONLCR on (a getty or `stty sane` on the console the
//! agent shares with a shell) turns every LF the agent writes into CR LF, in
//! frames too. The decoder undoes that, and only when the CRC confirms it.
mod common;
use common::*;
use proptest::prelude::*;
use rt_protocol::*;

/// What n_tty does with OPOST|ONLCR: every LF goes out as CR LF.
fn onlcr(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn notice(text: &str) -> Message {
    Message::Notice(Notice {
        level: NoticeLevel::Warning,
        text: bounded_str(text),
    })
}

#[test]
fn frames_through_onlcr_decode_and_are_counted() {
    // LF, CR LF and CR inside payloads; seq 10 is itself an LF byte.
    let msgs = [
        notice("line\none"),
        notice("crlf\r\nin the data"),
        notice("cr\ronly"),
        notice("no line feed here"),
    ];
    let mut raw = b"# ls\n".to_vec();
    for (i, m) in msgs.iter().enumerate() {
        raw.extend(wire(10 + i as u32, m));
        raw.extend_from_slice(b"shell text\n");
    }
    let with_lf: Vec<bool> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| wire(10 + i as u32, m).contains(&b'\n'))
        .collect();
    assert!(
        with_lf.iter().filter(|&&x| x).count() >= 2,
        "the test needs frames holding LF"
    );

    let (got, text, stats) = decode_all(&onlcr(&raw));
    let got: Vec<Message> = got.into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, msgs.to_vec());
    assert_eq!(stats.crc_errors + stats.framing_errors, 0, "{stats:?}");
    assert_eq!(
        stats.onlcr_frames,
        with_lf.iter().filter(|&&x| x).count() as u64,
        "{stats:?}"
    );
    assert_eq!(stats.frames, msgs.len() as u64);
    // The console text went through the same conversion, as on a terminal.
    assert_eq!(
        String::from_utf8(text).unwrap(),
        format!("# ls\r\n{}", "shell text\r\n".repeat(msgs.len()))
    );

    // Without ONLCR nothing is undone.
    let (_, _, stats) = decode_all(&raw);
    assert_eq!((stats.frames, stats.onlcr_frames), (msgs.len() as u64, 0));
}

#[test]
fn a_damaged_frame_is_not_rescued_by_the_undo() {
    let mut w = onlcr(&wire(10, &notice("a\nb\nc")));
    assert!(w.windows(2).any(|p| p == b"\r\n"));
    let last = w.len() - 3;
    w[last] ^= 0x10;
    let (got, _, stats) = decode_all(&w);
    assert!(got.is_empty());
    assert_eq!(stats.crc_errors + stats.framing_errors, 1, "{stats:?}");
    assert_eq!(stats.onlcr_frames, 0);
}

#[test]
fn undo_onlcr_is_the_inverse_of_onlcr() {
    let mut dst = [0u8; 64];
    for src in [&b"a\nb"[..], b"\r\n", b"\r\r\n\n", b"\r", b"x\r", b""] {
        let n = undo_onlcr(&onlcr(src), &mut dst);
        assert_eq!(&dst[..n], src);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any message, any sequence number: through ONLCR and back.
    #[test]
    fn any_frame_survives_onlcr(seq in any::<u32>(), m in message()) {
        let (got, _, stats) = decode_all(&onlcr(&wire(seq, &m)));
        prop_assert_eq!(got, vec![(seq, m)]);
        prop_assert_eq!(stats.crc_errors + stats.framing_errors, 0);
    }
}
