//! proptest strategies for every message (shared by the protocol tests).
#![allow(dead_code)]

use heapless::{String, Vec};
use proptest::collection::vec;
use proptest::prelude::*;
use rt_protocol::*;

pub fn hstr<const N: usize>() -> impl Strategy<Value = String<N>> {
    // Any Unicode, cut to fit (multi-byte chars included).
    "\\PC{0,24}".prop_map(|s: std::string::String| bounded_str::<N>(&s))
}

pub fn hvec<T: std::fmt::Debug + Clone, const N: usize>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T, N>> {
    vec(s, 0..=N).prop_map(|v| v.into_iter().collect())
}

pub fn breakdown() -> impl Strategy<Value = Breakdown> {
    any::<[u64; 6]>().prop_map(|a| Breakdown {
        running_ns: a[0],
        waiting_ns: a[1],
        sleep_timer_ns: a[2],
        sleep_lock_ns: a[3],
        sleep_io_ns: a[4],
        sleep_other_ns: a[5],
    })
}

pub fn task_info() -> impl Strategy<Value = TaskInfo> {
    (any::<(i32, i32, u8, i32, u32, i16, u8)>(), hstr::<16>(), any::<u64>()).prop_map(
        |((pid, tgid, track_kind, irq, flags, prio, policy), comm, start_ns)| TaskInfo {
            pid,
            tgid,
            track_kind,
            irq,
            flags,
            prio,
            policy,
            comm,
            start_ns,
        },
    )
}

pub fn bucket() -> impl Strategy<Value = Bucket> {
    (0u8..32, any::<u64>()).prop_map(|(idx, count)| Bucket { idx, count })
}

pub fn metric_stats() -> impl Strategy<Value = MetricStats> {
    (
        any::<(u8, u64, u64, u64, u64, u64, u64, u64)>(),
        hvec::<Bucket, 32>(bucket()),
        proptest::option::of((any::<[u64; 4]>(), hvec::<Bucket, 32>(bucket()))),
        breakdown(),
        any::<u64>(),
    )
        .prop_map(
            |(
                (metric, count, min_ns, max_ns, sum_ns, bound_ns, violations, last_ns),
                log2,
                lin,
                worst,
                worst_at_ns,
            )| MetricStats {
                metric,
                count,
                min_ns,
                max_ns,
                sum_ns,
                bound_ns,
                violations,
                last_ns,
                log2,
                lin: lin.map(|(a, buckets)| LinHist {
                    lo_ns: a[0],
                    step_ns: a[1],
                    under: a[2],
                    over: a[3],
                    buckets,
                }),
                worst,
                worst_at_ns,
            },
        )
}

pub fn snapshot() -> impl Strategy<Value = TaskSnapshot> {
    (
        any::<u64>(),
        task_info(),
        any::<u64>(),
        hvec::<MetricStats, 8>(metric_stats()),
    )
        .prop_map(|(t_ns, task, events_dropped, metrics)| TaskSnapshot {
            t_ns,
            task,
            events_dropped,
            metrics,
        })
}

pub fn event() -> impl Strategy<Value = Event> {
    (
        any::<(u64, u8, u16, i32, i32, i16, i16)>(),
        any::<(u8, u8, u8)>(),
        hstr::<16>(),
        hstr::<16>(),
    )
        .prop_map(
            |(
                (t_ns, kind, cpu, pid, other_pid, prio, other_prio),
                (policy, other_policy, prev_state),
                comm,
                other_comm,
            )| Event {
                t_ns,
                kind,
                cpu,
                pid,
                other_pid,
                prio,
                other_prio,
                policy,
                other_policy,
                prev_state,
                comm,
                other_comm,
            },
        )
}

pub fn culprit() -> impl Strategy<Value = Culprit> {
    (any::<(i32, i16, u8, u64)>(), hstr::<16>()).prop_map(|((pid, prio, policy, ns), comm)| Culprit {
        pid,
        prio,
        policy,
        ns,
        comm,
    })
}

pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (
            any::<(u16, u16, u32, u32, u32, u32)>(),
            hstr::<24>(),
            hstr::<64>(),
            hstr::<48>()
        )
            .prop_map(
                |(
                    (_, proto_minor, uapi_major, uapi_minor, baud, module_flags),
                    agent_version,
                    kernel_release,
                    board,
                )| {
                    Message::Hello(Hello {
                        proto_major: PROTOCOL_MAJOR,
                        proto_minor,
                        agent_version,
                        kernel_release,
                        uapi_major,
                        uapi_minor,
                        board,
                        baud,
                        module_flags,
                    })
                }
            ),
        (any::<[u64; 13]>(), any::<(u8, u32, u32)>()).prop_map(|(a, (module_state, tracked, budget_bps))| {
            Message::Heartbeat(Heartbeat {
                t_ns: a[0],
                uptime_ms: a[1],
                frames_sent: a[2],
                bytes_sent: a[3],
                snapshots_skipped: a[4],
                violations_skipped: a[5],
                worst_skipped: a[6],
                write_errors: a[7],
                reopens: a[8],
                records_read: a[9],
                records_unknown: a[10],
                records_bad: a[11],
                module_state,
                tracked,
                budget_bps,
                other_skipped: a[12],
            })
        }),
        snapshot().prop_map(Message::Task),
        snapshot().prop_map(Message::Irq),
        snapshot().prop_map(Message::Exit),
        (any::<u64>(), task_info(), any::<(u8, u64, u64, u64)>(), breakdown()).prop_map(
            |(t_ns, task, (metric, value_ns, bound_ns, violations), breakdown)| Message::Violation(Violation {
                t_ns,
                task,
                metric,
                value_ns,
                bound_ns,
                violations,
                breakdown,
            })
        ),
        (
            any::<u64>(),
            task_info(),
            any::<(u8, u64, u64, u64)>(),
            breakdown(),
            hvec::<Culprit, 8>(culprit()),
            hvec::<Event, 32>(event()),
            hvec::<u8, 32>(any::<u8>())
        )
            .prop_map(
                |(
                    t_ns,
                    task,
                    (metric, value_ns, bound_ns, events_dropped),
                    breakdown,
                    culprits,
                    events,
                    event_flags,
                )| {
                    Message::Worst(Worst {
                        t_ns,
                        task,
                        metric,
                        value_ns,
                        bound_ns,
                        events_dropped,
                        breakdown,
                        culprits,
                        events,
                        event_flags,
                    })
                }
            ),
        any::<[u64; 4]>().prop_map(|a| Message::Dropped(Dropped {
            t_ns: a[0],
            violations: a[1],
            worst: a[2],
            exits: a[3],
        })),
        (any::<u8>(), "\\PC{0,130}").prop_map(|(level, t)| Message::Notice(Notice {
            level: level.into(),
            text: bounded_str(&t),
        })),
        (any::<[u64; 6]>(), any::<u8>()).prop_map(|(a, flags)| Message::GpioPulse(GpioPulse {
            seq: a[0],
            t_stimulus: a[1],
            t_hard: a[2],
            t_thread: a[3],
            t_done: a[4],
            flags,
            skipped: a[5],
        })),
        (any::<[u64; 5]>(), any::<[[u64; 3]; 4]>()).prop_map(|(a, s)| {
            let span = |v: [u64; 3]| Span {
                min_ns: v[0],
                mean_ns: v[1],
                max_ns: v[2],
            };
            Message::GpioSummary(GpioSummary {
                t_ns: a[0],
                count: a[1],
                late: a[2],
                skipped: a[3],
                no_readback: a[4],
                stim_to_hard: span(s[0]),
                hard_to_thread: span(s[1]),
                thread_to_done: span(s[2]),
                stim_to_done: span(s[3]),
            })
        }),
        (
            any::<[u64; 8]>(),
            task_info(),
            any::<(u8, u8, u8)>(),
            breakdown(),
            hvec::<Culprit, 8>(culprit()),
            hvec::<Event, 32>(event()),
            hvec::<u8, 32>(any::<u8>())
        )
            .prop_map(
                |(a, task, (what, state, depth), breakdown, culprits, events, event_flags)| {
                    Message::Window(WindowOverrun {
                        t_ns: a[0],
                        task,
                        tag: a[1],
                        what,
                        state,
                        depth,
                        budget_ns: a[2],
                        start_ns: a[3],
                        duration_ns: a[4],
                        timer_late_ns: a[5],
                        overruns: a[6],
                        events_dropped: a[7],
                        breakdown,
                        culprits,
                        events,
                        event_flags,
                    })
                }
            ),
        (
            any::<[u64; 4]>(),
            task_info(),
            any::<u8>(),
            metric_stats(),
            hvec::<Culprit, 8>(culprit())
        )
            .prop_map(|(a, task, depth, stats, culprits)| Message::WindowStats(WindowStats {
                t_ns: a[0],
                task,
                tag: a[1],
                abandoned: a[2],
                tags_dropped: a[3],
                depth,
                stats,
                culprits,
            })),
    ]
}

/// Encode one message as a complete wire frame.
pub fn wire(seq: u32, msg: &Message) -> std::vec::Vec<u8> {
    let mut enc = Box::new(FrameEncoder::new());
    let mut out = vec![0u8; MAX_WIRE];
    let n = enc.encode(seq, msg, &mut out).expect("encode");
    out.truncate(n);
    out
}

/// Decode a whole stream; returns (messages with seq, console text, stats).
pub fn decode_all(bytes: &[u8]) -> (std::vec::Vec<(u32, Message)>, std::vec::Vec<u8>, Stats) {
    let mut dec = Box::new(StreamDecoder::new());
    let mut msgs = std::vec::Vec::new();
    let mut text = std::vec::Vec::new();
    let mut f = |i: Item<'_>| match i {
        Item::Message { seq, msg } => msgs.push((seq, msg.clone())),
        Item::Console(t) => text.extend_from_slice(t),
        _ => {}
    };
    dec.feed(bytes, &mut f);
    dec.finish(&mut f);
    let stats = *dec.stats();
    (msgs, text, stats)
}
