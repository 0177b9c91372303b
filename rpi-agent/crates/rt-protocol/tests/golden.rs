//! Golden byte vectors: these pin the wire format (docs/protocol.md). If one
//! of them changes, the protocol changed: bump PROTOCOL_MAJOR (layout change)
//! or append fields + bump PROTOCOL_MINOR, and update the document.
mod common;
use common::*;
use rt_protocol::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn task() -> TaskInfo {
    TaskInfo {
        pid: 1234,
        tgid: 1234,
        track_kind: track::PID,
        irq: -1,
        flags: flags::TRACE,
        prio: 19,
        policy: 1,
        comm: bounded_str("cyclic"),
        start_ns: 5_000_000,
    }
}

fn check(seq: u32, msg: Message, want: &str) {
    let w = wire(seq, &msg);
    assert_eq!(hex(&w), want, "golden vector of {msg:?}");
    let bytes: Vec<u8> = (0..want.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&want[i..i + 2], 16).unwrap())
        .collect();
    let (msgs, _, _) = decode_all(&bytes);
    assert_eq!(msgs, vec![(seq, msg)]);
}

#[test]
fn golden_hello() {
    check(
        0,
        Message::Hello(Hello {
            proto_major: 1,
            proto_minor: 0,
            agent_version: bounded_str("0.1.0"),
            kernel_release: bounded_str("6.12.95+deb12-rt-arm64"),
            uapi_major: 1,
            uapi_minor: 0,
            board: bounded_str("rpi4"),
            baud: 115200,
            module_flags: 0,
        }),
        GOLDEN_HELLO,
    );
}

#[test]
fn golden_task() {
    let mut log2 = heapless::Vec::new();
    log2.push(Bucket { idx: 10, count: 3 }).unwrap();
    let m = MetricStats {
        metric: metric::LATENCY,
        count: 3,
        min_ns: 600,
        max_ns: 1000,
        sum_ns: 2400,
        bound_ns: 900,
        violations: 1,
        last_ns: 800,
        log2,
        lin: None,
        worst: Breakdown {
            running_ns: 0,
            waiting_ns: 1000,
            ..Default::default()
        },
        worst_at_ns: 7,
    };
    let mut metrics = heapless::Vec::new();
    metrics.push(m).unwrap();
    check(
        3,
        Message::Task(TaskSnapshot {
            t_ns: 9,
            task: task(),
            events_dropped: 0,
            metrics,
        }),
        GOLDEN_TASK,
    );
}

#[test]
fn golden_violation() {
    check(
        4,
        Message::Violation(Violation {
            t_ns: 10,
            task: task(),
            metric: metric::RESPONSE,
            value_ns: 1_059_000,
            bound_ns: 1_000_000,
            violations: 2,
            breakdown: Breakdown {
                running_ns: 1_000_000,
                waiting_ns: 59_000,
                ..Default::default()
            },
        }),
        GOLDEN_VIOLATION,
    );
}

/// The Worst of `golden_worst`, with `event_flags` (protocol 1.1).
fn golden_worst_msg(event_flags: &[u8]) -> Message {
    let mut culprits = heapless::Vec::new();
    culprits
        .push(Culprit {
            pid: 456,
            prio: 9,
            policy: 1,
            ns: 59_000,
            comm: bounded_str("hog"),
        })
        .unwrap();
    let mut events = heapless::Vec::new();
    events
        .push(Event {
            t_ns: 0,
            kind: event::WAKEUP,
            cpu: 1,
            pid: 1234,
            other_pid: 0,
            prio: 19,
            other_prio: 120,
            policy: 1,
            other_policy: 0,
            prev_state: 0,
            comm: bounded_str("cyclic"),
            other_comm: bounded_str("swapper/1"),
        })
        .unwrap();
    Message::Worst(Worst {
        t_ns: 11,
        task: task(),
        metric: metric::RESPONSE,
        value_ns: 1_059_000,
        bound_ns: 1_000_000,
        events_dropped: 0,
        breakdown: Breakdown {
            running_ns: 1_000_000,
            waiting_ns: 59_000,
            ..Default::default()
        },
        culprits,
        events,
        event_flags: event_flags.iter().copied().collect(),
    })
}

#[test]
fn golden_worst() {
    // 1.1: the 1.0 payload, then event_flags [HARDIRQ] (01 01) at its end
    check(5, golden_worst_msg(&[event_flag::HARDIRQ]), GOLDEN_WORST);
}

#[test]
fn worst_from_a_1_0_agent_decodes() {
    // The same Worst as a 1.0 agent sends it: no event_flags at the end.
    let bytes: Vec<u8> = (0..GOLDEN_WORST_1_0.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&GOLDEN_WORST_1_0[i..i + 2], 16).unwrap())
        .collect();
    let (msgs, _, _) = decode_all(&bytes);
    assert_eq!(msgs, vec![(5, golden_worst_msg(&[]))]);
}

fn golden_heartbeat_msg() -> Message {
    Message::Heartbeat(Heartbeat {
        t_ns: 1,
        uptime_ms: 2,
        frames_sent: 3,
        bytes_sent: 400,
        snapshots_skipped: 5,
        module_state: module_state::PRESENT,
        tracked: 2,
        budget_bps: 11520,
        ..Default::default()
    })
}

#[test]
fn heartbeat_from_a_1_1_agent_decodes() {
    // The same Heartbeat as a 1.1 agent sends it: no other_skipped at the end.
    let bytes: Vec<u8> = (0..GOLDEN_HEARTBEAT_1_1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&GOLDEN_HEARTBEAT_1_1[i..i + 2], 16).unwrap())
        .collect();
    let (msgs, _, _) = decode_all(&bytes);
    assert_eq!(msgs, vec![(6, golden_heartbeat_msg())]);
}

#[test]
fn golden_heartbeat_dropped_notice() {
    check(6, golden_heartbeat_msg(), GOLDEN_HEARTBEAT);
    check(
        7,
        Message::Dropped(Dropped {
            t_ns: 1,
            violations: 2,
            worst: 3,
            exits: 4,
        }),
        GOLDEN_DROPPED,
    );
    check(
        8,
        Message::Notice(Notice {
            level: NoticeLevel::Warning,
            text: bounded_str("waiting for /dev/rt_tracer (modprobe rt_tracer)"),
        }),
        GOLDEN_NOTICE,
    );
}

fn golden_gpio_pulse_msg() -> Message {
    Message::GpioPulse(GpioPulse {
        seq: 3,
        t_stimulus: 1_000_000,
        t_hard: 1_000_041,
        t_thread: 1_000_126,
        t_done: 1_000_336,
        flags: pulse_flags::LATE,
        skipped: 2,
    })
}

fn golden_gpio_summary_msg() -> Message {
    let span = |min_ns, mean_ns, max_ns| Span {
        min_ns,
        mean_ns,
        max_ns,
    };
    Message::GpioSummary(GpioSummary {
        t_ns: 2_000_000_000,
        count: 1000,
        late: 1,
        skipped: 0,
        no_readback: 2,
        stim_to_hard: span(40, 41, 90),
        hard_to_thread: span(80, 85, 700),
        thread_to_done: span(200, 210, 260),
        stim_to_done: span(320, 336, 1050),
    })
}

#[test]
fn golden_gpio_pulse_and_summary() {
    // 1.3: kinds 10 and 11
    check(9, golden_gpio_pulse_msg(), GOLDEN_GPIO_PULSE);
    check(10, golden_gpio_summary_msg(), GOLDEN_GPIO_SUMMARY);
}

/// What a 1.2 rtdecode makes of a 1.3 agent's stimulus frames: each is
/// skipped and counted as an unknown kind, and every frame around them
/// still decodes, none counted lost or damaged (docs/protocol.md,
/// "Compatibility"). The decoder knowing only 1.2's kinds stands in for the
/// 1.2 code: frame.rs and stream.rs are unchanged since 1.2.
#[test]
fn a_1_2_decoder_skips_kinds_10_and_11_and_keeps_what_follows() {
    let bytes: Vec<u8> = [GOLDEN_DROPPED, GOLDEN_NOTICE, GOLDEN_GPIO_PULSE, GOLDEN_GPIO_SUMMARY]
        .iter()
        .flat_map(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        })
        .chain(b"console line\n".iter().copied())
        .chain(wire(11, &golden_heartbeat_msg()))
        .collect();
    for (minor, unknown) in [(2, vec![(9, kind::GPIO_PULSE), (10, kind::GPIO_SUMMARY)]), (3, vec![])] {
        let mut dec = Box::new(StreamDecoder::knowing_minor(minor));
        let (mut seqs, mut skipped, mut text) = (Vec::new(), Vec::new(), Vec::new());
        let mut f = |i: Item<'_>| match i {
            Item::Message { seq, .. } => seqs.push(seq),
            Item::Unknown { seq, kind } => skipped.push((seq, kind)),
            Item::Console(t) => text.extend_from_slice(t),
            other => panic!("1.{minor}: {other:?}"),
        };
        dec.feed(&bytes, &mut f);
        dec.finish(&mut f);
        let want: Vec<u32> = if minor == 2 {
            vec![7, 8, 11]
        } else {
            vec![7, 8, 9, 10, 11]
        };
        assert_eq!(seqs, want, "1.{minor}");
        assert_eq!(skipped, unknown, "1.{minor}");
        assert_eq!(text, b"console line\n");
        let st = dec.stats();
        assert_eq!(st.unknown_kinds, unknown.len() as u64);
        assert_eq!(st.frames, 5);
        assert_eq!(
            (st.lost_frames, st.crc_errors, st.framing_errors, st.decode_errors),
            (0, 0, 0, 0)
        );
    }
}

/// A window of budget 1 ms that hit its deadline while `hog` held the CPU.
fn golden_window_msg() -> Message {
    let Message::Worst(w) = golden_worst_msg(&[event_flag::HARDIRQ]) else {
        unreachable!()
    };
    Message::Window(WindowOverrun {
        t_ns: 6_001_020,
        task: task(),
        tag: 7,
        what: window_what::DEADLINE,
        state: win_state::WAITING,
        depth: 1,
        budget_ns: 1_000_000,
        start_ns: 5_000_000,
        duration_ns: 1_001_020,
        timer_late_ns: 1_020,
        overruns: 1,
        events_dropped: 0,
        breakdown: Breakdown {
            running_ns: 200_000,
            waiting_ns: 801_020,
            ..Default::default()
        },
        culprits: w.culprits,
        events: w.events,
        event_flags: w.event_flags,
    })
}

fn golden_window_stats_msg() -> Message {
    let mut log2 = heapless::Vec::new();
    log2.push(Bucket { idx: 19, count: 9 }).unwrap();
    log2.push(Bucket { idx: 21, count: 1 }).unwrap();
    let Message::Worst(w) = golden_worst_msg(&[]) else {
        unreachable!()
    };
    Message::WindowStats(WindowStats {
        t_ns: 9_000_000,
        task: task(),
        tag: 7,
        abandoned: 0,
        tags_dropped: 0,
        depth: 0,
        stats: MetricStats {
            metric: WINDOW_METRIC,
            count: 10,
            min_ns: 400_000,
            max_ns: 1_059_000,
            sum_ns: 5_059_000,
            bound_ns: 1_000_000,
            violations: 1,
            last_ns: 450_000,
            log2,
            lin: None,
            worst: Breakdown {
                running_ns: 1_000_000,
                waiting_ns: 59_000,
                ..Default::default()
            },
            worst_at_ns: 6_059_000,
        },
        culprits: w.culprits,
    })
}

#[test]
fn golden_window_and_window_stats() {
    // 1.4: kinds 12 and 13
    check(12, golden_window_msg(), GOLDEN_WINDOW);
    check(13, golden_window_stats_msg(), GOLDEN_WINDOW_STATS);
}

/// A 1.3 decoder skips 1.4's window kinds and decodes what follows.
#[test]
fn a_1_3_decoder_skips_kinds_12_and_13_and_keeps_what_follows() {
    let bytes: Vec<u8> = [wire(12, &golden_window_msg()), wire(13, &golden_window_stats_msg())]
        .concat()
        .into_iter()
        .chain(b"console line\n".iter().copied())
        .chain(wire(14, &golden_heartbeat_msg()))
        .collect();
    for (minor, unknown) in [(3, vec![(12, kind::WINDOW), (13, kind::WINDOW_STATS)]), (4, vec![])] {
        let mut dec = Box::new(StreamDecoder::knowing_minor(minor));
        let (mut seqs, mut skipped) = (Vec::new(), Vec::new());
        let mut f = |i: Item<'_>| match i {
            Item::Message { seq, .. } => seqs.push(seq),
            Item::Unknown { seq, kind } => skipped.push((seq, kind)),
            Item::Console(_) => {}
            other => panic!("1.{minor}: {other:?}"),
        };
        dec.feed(&bytes, &mut f);
        dec.finish(&mut f);
        let want: Vec<u32> = if minor == 3 { vec![14] } else { vec![12, 13, 14] };
        assert_eq!(seqs, want, "1.{minor}");
        assert_eq!(skipped, unknown, "1.{minor}");
        let st = dec.stats();
        assert_eq!((st.unknown_kinds, st.frames), (unknown.len() as u64, 3));
        assert_eq!((st.lost_frames, st.crc_errors, st.decode_errors), (0, 0, 0));
    }
}

const GOLDEN_HELLO: &str =
    "00010104012a011f05302e312e3016362e31322e39352b64656231322d72742d61726d36340109047270693480840705fc3c933e00";
const GOLDEN_TASK: &str = "00011903033009a413a4130101012601066379636c6963c096b10202011003d804e807e012840701a006010a030103e80701010106074a8df23300";
const GOLDEN_VIOLATION: &str =
    "0001270406270aa413a4130101012601066379636c6963c096b10201b8d140c0843d02c0843df8cc030101010557fa895200";
const GOLDEN_WORST: &str = "0001200507530ba413a4130101012601066379636c6963c096b10201b8d140c0843d07c0843df8cc030101010e0190071201f8cc0303686f6701050101a4130526f001010118066379636c696309737761707065722f3101012a06193d00";
/// Protocol 1.0's Worst (before event_flags), as a 1.0 agent sends it.
const GOLDEN_WORST_1_0: &str = "0001200507510ba413a4130101012601066379636c6963c096b10201b8d140c0843d07c0843df8cc030101010e0190071201f8cc0303686f6701050101a4130526f001010116066379636c696309737761707065722f319b69b1de00";
// 1.2: the 1.1 payload, then other_skipped (00) at its end
const GOLDEN_HEARTBEAT: &str = "00010a060212010203900305010101010101050102805a05dcdb29bc00";
const GOLDEN_HEARTBEAT_1_1: &str = "00010a060211010203900305010101010101090102805af56bb4aa00";
const GOLDEN_DROPPED: &str = "00010c070804010203049be12e2e00";
const GOLDEN_NOTICE: &str = "000139080931012f77616974696e6720666f72202f6465762f72745f74726163657220286d6f6470726f62652072745f74726163657229780720cb00";
// 1.3
const GOLDEN_GPIO_PULSE: &str = "000117090a0f03c0843de9843dbe853d90873d020270b9723b00";
const GOLDEN_GPIO_SUMMARY: &str = "00010c0a0b1d80a8d6b907e80701190228295a5055bc05c801d2018402c002d0029a089a0e89bd00";
// 1.4
const GOLDEN_WINDOW: &str = "00012d0c0c60fca2ee02a413a4130101012601066379636c6963c096b10207010101c0843dc096b102bc8c3dfc070107c09a0cfcf1300101010e0190071201f8cc0303686f6701050101a4130526f001010118066379636c696309737761707065722f31010143ed48ea00";
const GOLDEN_WINDOW_STATS: &str = "00011d0d0d4fc0a8a504a413a4130101012601066379636c6963c096b10207010119ff0a80b518b8d140b8e3b402c0843d01d0bb1b021309150107c0843df8cc0301010115f8e7f1020190071201f8cc0303686f673ee8b06600";
