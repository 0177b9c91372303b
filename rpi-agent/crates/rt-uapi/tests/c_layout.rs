//! Compiles a tiny C program against the real UAPI header with the host C
//! compiler (`cc`, or $CC) and compares every struct size, every field offset
//! and every ioctl number with the Rust mirror.
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use rt_uapi::*;

macro_rules! rust_layout {
    ($out:ident; $($cty:literal => $rty:ty { $($cf:literal => $rf:ident),* $(,)? })*) => {
        $(
            $out.push(format!("sizeof {} {}", $cty, size_of::<$rty>()));
            $( $out.push(format!("offsetof {}.{} {}", $cty, $cf, offset_of!($rty, $rf))); )*
        )*
    };
}

macro_rules! c_layout {
    ($out:ident; $($cty:literal => $rty:ty { $($cf:literal => $rf:ident),* $(,)? })*) => {
        $(
            $out.push_str(&format!("printf(\"sizeof %s %zu\\n\", \"{0}\", sizeof(struct {0}));\n", $cty));
            $( $out.push_str(&format!("printf(\"offsetof %s.%s %zu\\n\", \"{0}\", \"{1}\", offsetof(struct {0}, {1}));\n", $cty, $cf)); )*
        )*
    };
}

macro_rules! layouts {
    ($mac:ident, $out:ident) => {
        $mac!($out;
            "rtt_breakdown" => RttBreakdown { "running_ns" => running_ns, "waiting_ns" => waiting_ns, "sleep_ns" => sleep_ns }
            "rtt_event" => RttEvent { "t_ns" => t_ns, "type" => type_, "cpu" => cpu, "pid" => pid, "other_pid" => other_pid,
                "prio" => prio, "other_prio" => other_prio, "policy" => policy, "other_policy" => other_policy,
                "prev_state" => prev_state, "flags" => flags, "comm" => comm, "other_comm" => other_comm, "pad" => pad }
            "rtt_culprit" => RttCulprit { "pid" => pid, "prio" => prio, "policy" => policy, "pad" => pad, "ns" => ns, "comm" => comm }
            "rtt_metric_stats" => RttMetricStats { "count" => count, "min_ns" => min_ns, "max_ns" => max_ns, "sum_ns" => sum_ns,
                "bound_ns" => bound_ns, "violations" => violations, "last_ns" => last_ns, "lin_lo_ns" => lin_lo_ns,
                "lin_step_ns" => lin_step_ns, "lin_under" => lin_under, "lin_over" => lin_over, "log2_hist" => log2_hist,
                "lin_hist" => lin_hist, "worst" => worst, "worst_at_ns" => worst_at_ns }
            "rtt_task_info" => RttTaskInfo { "pid" => pid, "tgid" => tgid, "kind" => kind, "irq" => irq, "flags" => flags,
                "prio" => prio, "policy" => policy, "pad" => pad, "comm" => comm, "start_ns" => start_ns }
            "rtt_rec_hdr" => RttRecHdr { "type" => type_, "size" => size, "seq" => seq, "t_ns" => t_ns }
            "rtt_rec_task" => RttRecTask { "hdr" => hdr, "task" => task, "events_dropped" => events_dropped, "m" => m }
            "rtt_rec_violation" => RttRecViolation { "hdr" => hdr, "task" => task, "metric" => metric, "pad" => pad,
                "value_ns" => value_ns, "bound_ns" => bound_ns, "violations" => violations, "breakdown" => breakdown }
            "rtt_rec_worst" => RttRecWorst { "hdr" => hdr, "task" => task, "metric" => metric, "nr_events" => nr_events,
                "value_ns" => value_ns, "bound_ns" => bound_ns, "events_dropped" => events_dropped, "breakdown" => breakdown,
                "culprits" => culprits, "events" => events, "nr_culprits" => nr_culprits, "pad" => pad }
            "rtt_rec_dropped" => RttRecDropped { "hdr" => hdr, "violations" => violations, "worst" => worst, "exits" => exits }
            "rtt_track" => RttTrack { "kind" => kind, "id" => id, "flags" => flags, "reserved" => reserved }
            "rtt_bound" => RttBound { "pid" => pid, "metric" => metric, "bound_ns" => bound_ns }
            "rtt_lin_hist" => RttLinHist { "pid" => pid, "metric" => metric, "lo_ns" => lo_ns, "step_ns" => step_ns }
            "rtt_info" => RttInfo { "uapi_major" => uapi_major, "uapi_minor" => uapi_minor, "capacity" => capacity,
                "nr_tracked" => nr_tracked, "flags" => flags, "pad" => pad }
            "rtt_rec_window" => RttRecWindow { "hdr" => hdr, "task" => task, "tag" => tag, "budget_ns" => budget_ns,
                "start_ns" => start_ns, "duration_ns" => duration_ns, "timer_late_ns" => timer_late_ns,
                "overruns" => overruns, "events_dropped" => events_dropped, "what" => what, "state" => state,
                "depth" => depth, "nr_culprits" => nr_culprits, "nr_events" => nr_events, "pad" => pad,
                "breakdown" => breakdown, "culprits" => culprits, "events" => events }
            "rtt_rec_window_stats" => RttRecWindowStats { "hdr" => hdr, "task" => task, "tag" => tag,
                "abandoned" => abandoned, "tags_dropped" => tags_dropped, "depth" => depth,
                "nr_culprits" => nr_culprits, "st" => st, "culprits" => culprits }
            "rtt_window_start" => RttWindowStart { "size" => size, "flags" => flags, "budget_ns" => budget_ns,
                "tag" => tag, "reserved" => reserved }
            "rtt_window_result" => RttWindowResult { "size" => size, "flags" => flags, "tag" => tag,
                "budget_ns" => budget_ns, "start_ns" => start_ns, "duration_ns" => duration_ns, "depth" => depth,
                "pad" => pad, "breakdown" => breakdown }
            "rtt_window_bind" => RttWindowBind { "size" => size, "flags" => flags, "spec" => spec }
        )
    };
}

fn header_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../rt-tracer-module/include")
}

#[test]
fn layout_matches_c_header() {
    let inc = header_dir();
    assert!(
        inc.join("uapi/linux/rt_tracer.h").exists(),
        "UAPI header not found at {}",
        inc.display()
    );
    let mut c =
        String::from("#include <stdio.h>\n#include <stddef.h>\n#include <uapi/linux/rt_tracer.h>\nint main(void) {\n");
    layouts!(c_layout, c);
    for (name, _) in ioctls() {
        c.push_str(&format!("printf(\"ioctl {name} %lu\\n\", (unsigned long){name});\n"));
    }
    for (name, _) in constants() {
        c.push_str(&format!("printf(\"const {name} %lu\\n\", (unsigned long){name});\n"));
    }
    c.push_str("return 0; }\n");

    let dir = std::env::temp_dir().join(format!("rt-uapi-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .arg("-I")
        .arg(&inc)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}` ({e}); install gcc or set CC"));
    assert!(st.success(), "compiling {} failed", src.display());
    let out = Command::new(&exe).output().unwrap();
    let c_lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();

    let mut rust_lines: Vec<String> = Vec::new();
    layouts!(rust_layout, rust_lines);
    for (name, v) in ioctls() {
        rust_lines.push(format!("ioctl {name} {v}"));
    }
    for (name, v) in constants() {
        rust_lines.push(format!("const {name} {v}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(c_lines, rust_lines);
}

fn ioctls() -> Vec<(&'static str, u64)> {
    vec![
        ("RTT_IOC_INFO", ioctl::INFO.into()),
        ("RTT_IOC_ADD", ioctl::ADD.into()),
        ("RTT_IOC_DEL", ioctl::DEL.into()),
        ("RTT_IOC_SET_BOUND", ioctl::SET_BOUND.into()),
        ("RTT_IOC_SET_LIN_HIST", ioctl::SET_LIN_HIST.into()),
        ("RTT_IOC_RESET", ioctl::RESET.into()),
        ("RTT_IOC_SNAPSHOT", ioctl::SNAPSHOT.into()),
        ("RTT_IOC_WINDOW_START", ioctl::WINDOW_START.into()),
        ("RTT_IOC_WINDOW_STOP", ioctl::WINDOW_STOP.into()),
        ("RTT_IOC_WINDOW_OVERRUNS", ioctl::WINDOW_OVERRUNS.into()),
        ("RTT_IOC_WINDOW_BIND", ioctl::WINDOW_BIND.into()),
    ]
}

fn constants() -> Vec<(&'static str, u64)> {
    vec![
        ("RTT_UAPI_MAJOR", RTT_UAPI_MAJOR.into()),
        ("RTT_UAPI_MINOR", RTT_UAPI_MINOR.into()),
        ("RTT_COMM_LEN", RTT_COMM_LEN as u64),
        ("RTT_LOG2_BUCKETS", RTT_LOG2_BUCKETS as u64),
        ("RTT_LIN_BUCKETS", RTT_LIN_BUCKETS as u64),
        ("RTT_TRACE_EVENTS", RTT_TRACE_EVENTS as u64),
        ("RTT_CULPRITS", RTT_CULPRITS as u64),
        ("RTT_NR_METRICS", RTT_NR_METRICS as u64),
        ("RTT_NR_SLEEP_CAUSES", RTT_NR_SLEEP_CAUSES as u64),
        ("RTT_REC_TASK", RTT_REC_TASK.into()),
        ("RTT_REC_VIOLATION", RTT_REC_VIOLATION.into()),
        ("RTT_REC_WORST", RTT_REC_WORST.into()),
        ("RTT_REC_DROPPED", RTT_REC_DROPPED.into()),
        ("RTT_REC_WINDOW", RTT_REC_WINDOW.into()),
        ("RTT_REC_WINDOW_STATS", RTT_REC_WINDOW_STATS.into()),
        ("RTT_MAX_BINDINGS", RTT_MAX_BINDINGS.into()),
        ("RTT_BIND_PATH_MAX", RTT_BIND_PATH_MAX.into()),
        ("RTT_BIND_SPEC_MAX", RTT_BIND_SPEC_MAX as u64),
        ("RTT_WIN_DEADLINE", RTT_WIN_DEADLINE.into()),
        ("RTT_WIN_STOP", RTT_WIN_STOP.into()),
        ("RTT_WS_RUNNING", RTT_WS_RUNNING.into()),
        ("RTT_WS_WAITING", RTT_WS_WAITING.into()),
        ("RTT_WS_SLEEP_TIMER", RTT_WS_SLEEP_TIMER.into()),
        ("RTT_WS_SLEEP_LOCK", RTT_WS_SLEEP_LOCK.into()),
        ("RTT_WS_SLEEP_IO", RTT_WS_SLEEP_IO.into()),
        ("RTT_WS_SLEEP_OTHER", RTT_WS_SLEEP_OTHER.into()),
        ("RTT_WINDOW_MAX_DEPTH", RTT_WINDOW_MAX_DEPTH.into()),
        ("RTT_WINF_OVERRUN", RTT_WINF_OVERRUN.into()),
        ("RTT_WINF_DEADLINE", RTT_WINF_DEADLINE.into()),
        ("RTT_REC_MAX_SIZE", RTT_REC_MAX_SIZE as u64),
        ("RTT_F_TRACE", RTT_F_TRACE.into()),
        ("RTT_F_EXITED", RTT_F_EXITED.into()),
        ("RTT_F_IRQ_THREAD", RTT_F_IRQ_THREAD.into()),
        ("RTT_TRACK_PID", RTT_TRACK_PID.into()),
        ("RTT_TRACK_TGID", RTT_TRACK_TGID.into()),
        ("RTT_TRACK_IRQ", RTT_TRACK_IRQ.into()),
        // the metric list (RTT_METRICS in the header), in wire order
        ("RTT_METRIC_LATENCY", RTT_METRIC_LATENCY.into()),
        ("RTT_METRIC_RESPONSE", RTT_METRIC_RESPONSE.into()),
        ("RTT_METRIC_RELIEF", RTT_METRIC_RELIEF.into()),
        ("RTT_METRIC_IRQ_DELAY", RTT_METRIC_IRQ_DELAY.into()),
        ("RTT_METRIC_IRQ", RTT_METRIC_IRQ.into()),
        ("RTT_EVF_HARDIRQ", RTT_EVF_HARDIRQ.into()),
        ("RTT_INFO_IRQ_TRACEPOINTS", RTT_INFO_IRQ_TRACEPOINTS.into()),
        (
            "RTT_INFO_IRQ_HANDLER_TRACEPOINTS",
            RTT_INFO_IRQ_HANDLER_TRACEPOINTS.into(),
        ),
    ]
}

/// The same program cross-compiled for aarch64 must agree too (skipped when
/// the cross compiler is absent; it cannot be run here, so sizes are checked
/// with static asserts at compile time).
#[test]
fn aarch64_layout_static_asserts() {
    let Ok(true) = Command::new("aarch64-linux-gnu-gcc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
    else {
        eprintln!("aarch64-linux-gnu-gcc not found: skipped");
        return;
    };
    let mut c = String::from("#include <stddef.h>\n#include <uapi/linux/rt_tracer.h>\n");
    let mut rust: Vec<String> = Vec::new();
    layouts!(rust_layout, rust);
    for l in rust {
        let parts: Vec<&str> = l.split(' ').collect();
        let expr = if parts[0] == "sizeof" {
            format!("sizeof(struct {})", parts[1])
        } else {
            let (s, f) = parts[1].split_once('.').unwrap();
            format!("offsetof(struct {s}, {f})")
        };
        c.push_str(&format!("_Static_assert({expr} == {}, \"{}\");\n", parts[2], parts[1]));
    }
    let dir = std::env::temp_dir().join(format!("rt-uapi-a64-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    std::fs::write(&src, c).unwrap();
    let out = Command::new("aarch64-linux-gnu-gcc")
        .arg("-I")
        .arg(header_dir())
        .arg("-fsyntax-only")
        .arg(&src)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
