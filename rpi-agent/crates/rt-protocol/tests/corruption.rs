//! Frames interleaved with console text, damaged in every way a serial line
//! can damage them: every intact frame is decoded, every damaged one counted,
//! none mis-decoded, console text survives.
mod common;
use common::*;
use proptest::prelude::*;
use rt_protocol::*;

#[derive(Debug, Clone)]
enum Harm {
    None,
    BitFlip(usize, u8),
    Truncate(usize),
    DropByte(usize),
    Garbage(usize, Vec<u8>),
}

fn harm() -> impl Strategy<Value = Harm> {
    prop_oneof![
        4 => Just(Harm::None),
        1 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Harm::BitFlip(i, b)),
        1 => any::<usize>().prop_map(Harm::Truncate),
        1 => any::<usize>().prop_map(Harm::DropByte),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..40)).prop_map(|(i, g)| Harm::Garbage(i, g)),
    ]
}

/// Console text as a kernel or a shell prints it (never contains 0x00).
fn console_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[ *[0-9]{1,5}\\.[0-9]{6}\\] [a-z_]{1,12}: [ -~]{0,60}\n",
        "root@rpi:~# [ -~]{0,30}\n",
        "\\PC{0,40}\r\n",
    ]
}

/// Apply `h` to the inside of a frame (delimiters untouched). Returns whether it changed.
fn apply(frame: &mut Vec<u8>, h: &Harm) -> bool {
    let inner = frame.len() - 2;
    let before = frame.clone();
    match h {
        Harm::None => {}
        Harm::BitFlip(i, b) => frame[1 + i % inner] ^= 1 << b,
        Harm::Truncate(i) => {
            // keep at least one byte: a frame cut to nothing is lost, not damaged
            let keep = 1 + i % (inner - 1);
            frame.drain(1 + keep..1 + inner);
        }
        Harm::DropByte(i) => {
            frame.remove(1 + i % inner);
        }
        Harm::Garbage(i, g) => {
            // after the frame's first byte: garbage in front of a frame is not damage
            let at = 2 + i % (inner - 1);
            frame.splice(at..at, g.iter().copied());
        }
    }
    *frame != before
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn damaged_stream(items in proptest::collection::vec((message(), harm(), console_line()), 1..12),
                      between in proptest::collection::vec(any::<u8>(), 0..30),
                      piece in 1usize..512) {
        let mut stream = Vec::new();
        let mut intact = Vec::new();
        let mut damaged = 0u64;
        let mut lines = Vec::new();
        // A partial frame at the start, as when joining a running stream.
        let lead = wire(999, &Message::Dropped(Dropped::default()));
        stream.extend_from_slice(&lead[lead.len() / 2..]);
        for (i, (msg, h, line)) in items.iter().enumerate() {
            let seq = i as u32;
            let mut f = wire(seq, msg);
            if apply(&mut f, h) {
                damaged += 1;
            } else {
                intact.push((seq, msg.clone()));
            }
            stream.extend_from_slice(&f);
            stream.extend_from_slice(line.as_bytes());
            lines.push(line.clone());
            if i == 0 {
                // Line noise between delimiters.
                stream.push(0);
                stream.extend(between.iter().copied());
                stream.push(0);
            }
        }
        let mut dec = Box::new(StreamDecoder::new());
        let mut got = Vec::new();
        let mut text = Vec::new();
        let mut f = |i: Item<'_>| match i {
            Item::Message { seq, msg } => got.push((seq, msg.clone())),
            Item::Console(t) => text.extend_from_slice(t),
            _ => {}
        };
        for p in stream.chunks(piece) {
            dec.feed(p, &mut f);
        }
        dec.finish(&mut f);
        // Every intact frame, nothing else.
        prop_assert_eq!(&got, &intact);
        // Every damaged frame counted (plus the partial one at the start).
        prop_assert!(dec.stats().resyncs > damaged, "resyncs {} damaged {}", dec.stats().resyncs, damaged);
        // Console lines survive, in order.
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut at = 0;
        for l in &lines {
            let l = String::from_utf8_lossy(l.as_bytes()).into_owned();
            match text[at..].find(&l) {
                Some(p) => at += p + l.len(),
                None => prop_assert!(false, "line {:?} lost in {:?}", l, text),
            }
        }
    }
}

/// A frame glued to text without its leading delimiter (prompt, then frame).
#[test]
fn frame_after_prompt_without_delimiter() {
    let msg = Message::Dropped(Dropped {
        t_ns: 1,
        violations: 2,
        worst: 3,
        exits: 4,
    });
    let w = wire(7, &msg);
    let mut s = b"boot log line\nroot@rpi:~# ".to_vec();
    s.extend_from_slice(&w[1..]);
    s.extend_from_slice(b"after\n");
    let (msgs, text, stats) = decode_all(&s);
    assert_eq!(msgs, vec![(7, msg)]);
    assert_eq!(String::from_utf8(text).unwrap(), "boot log line\nroot@rpi:~# after\n");
    assert_eq!(stats.resyncs, 0);
}

/// Text printed in the middle of a frame damages that frame only.
#[test]
fn kernel_line_inside_a_frame() {
    let a = Message::Dropped(Dropped {
        t_ns: 1,
        ..Default::default()
    });
    let b = Message::Dropped(Dropped {
        t_ns: 2,
        ..Default::default()
    });
    let wa = wire(0, &a);
    let mut s = wa[..wa.len() / 2].to_vec();
    s.extend_from_slice(b"[   12.345678] random: crng init done\n");
    s.extend_from_slice(&wa[wa.len() / 2..]);
    s.extend(wire(1, &b));
    let (msgs, _text, stats) = decode_all(&s);
    assert_eq!(msgs, vec![(1, b)]);
    assert_eq!(stats.resyncs, 1);
}

/// A run longer than any frame is dropped up to the next delimiter; a long text
/// run without newline is passed through.
#[test]
fn overlong_runs() {
    let mut s = vec![0x02u8; 3 * MAX_WIRE];
    let m = Message::Dropped(Dropped::default());
    s.extend(wire(0, &m));
    let long_text = "x".repeat(3 * MAX_WIRE);
    s.extend_from_slice(long_text.as_bytes());
    let (msgs, text, stats) = decode_all(&s);
    assert_eq!(msgs, vec![(0, m)]);
    assert_eq!(text, long_text.as_bytes());
    assert!(stats.resyncs >= 1);
}

/// Missing frames are noticed through the sequence numbers.
#[test]
fn lost_frames_are_counted() {
    let m = Message::Dropped(Dropped::default());
    let mut s = wire(0, &m);
    s.extend(wire(1, &m));
    s.extend(wire(5, &m));
    let (_, _, stats) = decode_all(&s);
    assert_eq!(stats.lost_frames, 3);
}
