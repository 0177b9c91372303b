//! Every message kind survives encode -> frame -> stream decode unchanged.
mod common;
use common::*;
use proptest::prelude::*;
use rt_protocol::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips(seq in any::<u32>(), msg in message()) {
        let bytes = wire(seq, &msg);
        prop_assert!(bytes.len() <= MAX_WIRE);
        prop_assert_eq!(bytes[0], 0);
        prop_assert_eq!(bytes[1], 0x01);
        prop_assert_eq!(*bytes.last().unwrap(), 0);
        prop_assert!(!bytes[1..bytes.len() - 1].contains(&0));
        let (msgs, text, stats) = decode_all(&bytes);
        prop_assert!(text.is_empty());
        prop_assert_eq!(stats.frames, 1);
        // Every kind says which minor brought it (older decoders skip it).
        prop_assert!(kind::since_minor(msg.kind()).is_some_and(|m| m <= PROTOCOL_MINOR));
        prop_assert_eq!(msgs, vec![(seq, msg)]);
    }

    #[test]
    fn sequences_of_messages_in_arbitrary_pieces(msgs in proptest::collection::vec(message(), 1..6), piece in 1usize..300) {
        let mut bytes = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            bytes.extend(wire(i as u32, m));
        }
        let mut dec = Box::new(StreamDecoder::new());
        let mut got = Vec::new();
        let mut f = |i: Item<'_>| if let Item::Message { msg, .. } = i { got.push(msg.clone()) };
        for p in bytes.chunks(piece) {
            dec.feed(p, &mut f);
        }
        dec.finish(&mut f);
        prop_assert_eq!(got, msgs);
        prop_assert_eq!(dec.stats().lost_frames, 0);
    }
}

/// The largest possible payloads of each kind still fit in a frame.
#[test]
fn maximal_messages_fit() {
    let comm = bounded_str::<16>("ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ");
    let task = TaskInfo {
        pid: i32::MIN,
        tgid: i32::MIN,
        track_kind: 255,
        irq: i32::MIN,
        flags: u32::MAX,
        prio: i16::MIN,
        policy: 255,
        comm: comm.clone(),
        start_ns: u64::MAX,
    };
    let b = Breakdown {
        running_ns: u64::MAX,
        waiting_ns: u64::MAX,
        sleep_timer_ns: u64::MAX,
        sleep_lock_ns: u64::MAX,
        sleep_io_ns: u64::MAX,
        sleep_other_ns: u64::MAX,
    };
    let full: heapless::Vec<Bucket, 32> = (0..32)
        .map(|i| Bucket {
            idx: i,
            count: u64::MAX,
        })
        .collect();
    let m = MetricStats {
        metric: 255,
        count: u64::MAX,
        min_ns: u64::MAX,
        max_ns: u64::MAX,
        sum_ns: u64::MAX,
        bound_ns: u64::MAX,
        violations: u64::MAX,
        last_ns: u64::MAX,
        log2: full.clone(),
        lin: Some(LinHist {
            lo_ns: u64::MAX,
            step_ns: u64::MAX,
            under: u64::MAX,
            over: u64::MAX,
            buckets: full,
        }),
        worst: b,
        worst_at_ns: u64::MAX,
    };
    let snap = TaskSnapshot {
        t_ns: u64::MAX,
        task: task.clone(),
        events_dropped: u64::MAX,
        metrics: (0..8).map(|_| m.clone()).collect(),
    };
    let ev = Event {
        t_ns: u64::MAX,
        kind: 255,
        cpu: u16::MAX,
        pid: i32::MIN,
        other_pid: i32::MIN,
        prio: i16::MIN,
        other_prio: i16::MIN,
        policy: 255,
        other_policy: 255,
        prev_state: 255,
        comm: comm.clone(),
        other_comm: comm.clone(),
    };
    let cul = Culprit {
        pid: i32::MIN,
        prio: i16::MIN,
        policy: 255,
        ns: u64::MAX,
        comm,
    };
    let worst = Worst {
        t_ns: u64::MAX,
        task,
        metric: 255,
        value_ns: u64::MAX,
        bound_ns: u64::MAX,
        events_dropped: u64::MAX,
        breakdown: b,
        culprits: (0..8).map(|_| cul.clone()).collect(),
        events: (0..32).map(|_| ev.clone()).collect(),
        event_flags: (0..32).map(|_| 0xff).collect(),
    };
    for msg in [Message::Task(snap), Message::Worst(worst)] {
        let bytes = wire(u32::MAX, &msg);
        assert!(bytes.len() <= MAX_WIRE, "{} > {}", bytes.len(), MAX_WIRE);
        let (msgs, _, _) = decode_all(&bytes);
        assert_eq!(msgs, vec![(u32::MAX, msg)]);
    }
}

/// A kind from the future is skipped and counted, and does not disturb what follows.
#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let mut body = vec![0u8; 8192];
    let mut out = vec![0u8; MAX_WIRE];
    let n = encode_raw(&mut body, 0, 0x7777, b"future payload", &mut out).unwrap();
    let mut bytes = out[..n].to_vec();
    let notice = Message::Notice(Notice {
        level: NoticeLevel::Info,
        text: bounded_str("after"),
    });
    bytes.extend(wire(1, &notice));
    let (msgs, _, stats) = decode_all(&bytes);
    assert_eq!(stats.unknown_kinds, 1);
    assert_eq!(msgs, vec![(1, notice)]);
}

/// Fields appended by a newer minor version (trailing payload bytes) are ignored.
#[test]
fn trailing_payload_bytes_are_ignored() {
    let d = Dropped {
        t_ns: 1,
        violations: 2,
        worst: 3,
        exits: 4,
    };
    let mut payload = postcard::to_allocvec_fallback(&d);
    payload.extend_from_slice(&[42, 43, 44]);
    let mut body = vec![0u8; 8192];
    let mut out = vec![0u8; MAX_WIRE];
    let n = encode_raw(&mut body, 5, kind::DROPPED, &payload, &mut out).unwrap();
    let (msgs, _, _) = decode_all(&out[..n]);
    assert_eq!(msgs, vec![(5, Message::Dropped(d))]);
}

/// postcard without the alloc feature: serialize into a big buffer.
mod postcard {
    pub fn to_allocvec_fallback<T: serde::Serialize>(v: &T) -> Vec<u8> {
        let mut buf = vec![0u8; 8192];
        let n = ::postcard::to_slice(v, &mut buf).unwrap().len();
        buf.truncate(n);
        buf
    }
}

#[test]
fn incompatible_major_is_reported_and_frames_skipped() {
    let mut hello = Hello {
        proto_major: PROTOCOL_MAJOR + 1,
        ..Default::default()
    };
    hello.proto_minor = 3;
    let mut bytes = wire(0, &Message::Hello(hello));
    bytes.extend_from_slice(b"console survives\n");
    bytes.extend(wire(1, &Message::Dropped(Dropped::default())));
    let mut dec = Box::new(StreamDecoder::new());
    let mut seen = Vec::new();
    dec.feed(&bytes, &mut |i| match i {
        Item::Incompatible { major, minor } => seen.push(format!("incompatible {major}.{minor}")),
        Item::Console(t) => seen.push(String::from_utf8_lossy(t).into_owned()),
        Item::Message { .. } => seen.push("message".into()),
        _ => {}
    });
    assert_eq!(
        seen,
        vec![
            format!("incompatible {}.3", PROTOCOL_MAJOR + 1),
            "console survives\n".to_string()
        ]
    );
    assert_eq!(dec.stats().incompatible, 2);
}

#[test]
fn quantiles_from_log2_histogram() {
    let mut m = MetricStats {
        count: 100,
        min_ns: 900,
        max_ns: 70_000,
        sum_ns: 100 * 1000,
        ..Default::default()
    };
    // 99 samples in [512, 1024), 1 in [65536, 131072)
    m.log2.push(Bucket { idx: 10, count: 99 }).unwrap();
    m.log2.push(Bucket { idx: 17, count: 1 }).unwrap();
    assert_eq!(m.quantile_ns(0.5), Some(1023));
    assert_eq!(m.quantile_ns(0.99), Some(1023));
    assert_eq!(m.quantile_ns(1.0), Some(70_000));
    // Ranges: the bucket, clamped to what was observed.
    assert_eq!(m.quantile_range_ns(0.5), Some((900, 1023)));
    assert_eq!(m.quantile_range_ns(1.0), Some((65_536, 70_000)));
    // The README's demo case: the 99th sample in [4.2 ms, 8.4 ms), max 8387 us.
    let mut d = MetricStats {
        count: 100,
        min_ns: 20_000,
        max_ns: 8_387_000,
        ..Default::default()
    };
    d.log2.push(Bucket { idx: 15, count: 90 }).unwrap();
    d.log2.push(Bucket { idx: 23, count: 10 }).unwrap();
    assert_eq!(d.quantile_range_ns(0.99), Some((4_194_304, 8_387_000)));
    assert_eq!(m.quantile_range_ns(0.0), Some((900, 1023)));
    assert_eq!(MetricStats::default().quantile_range_ns(0.99), None);
    assert_eq!(m.mean_ns(), Some(1000));
    assert_eq!(sched_label(1, 19), ("FIFO", 80));
    assert_eq!(sched_label(0, 120), ("OTHER", 0));
}

proptest::proptest! {
    /// A percentile from log2 buckets never exceeds the observed max nor
    /// falls below the min, whatever the histogram says.
    #[test]
    fn quantile_range_stays_within_min_and_max(
        buckets in proptest::collection::btree_map(0u8..32, 1u64..1000, 1..10),
        min in 0u64..10_000_000,
        extra in 0u64..10_000_000,
        q in 0.0f64..=1.0,
    ) {
        let mut m = MetricStats { min_ns: min, max_ns: min + extra, ..Default::default() };
        for (idx, count) in buckets {
            m.count += count;
            m.log2.push(Bucket { idx, count }).unwrap();
        }
        let (lo, hi) = m.quantile_range_ns(q).unwrap();
        proptest::prop_assert!(lo <= hi && hi <= m.max_ns && lo >= m.min_ns.min(hi), "{lo} {hi} {m:?}");
    }
}
