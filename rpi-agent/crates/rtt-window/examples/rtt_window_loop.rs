//! A control loop instrumented with rtt-window, for the emulated
//! appliance's tests and as an example:
//!
//!   rtt_window_loop N BUDGET_US WORK_US [SLEEP_US]
//!
//! N iterations, each a window of BUDGET_US around WORK_US of busy work
//! and then SLEEP_US asleep inside the window (default 0); between
//! iterations 2 ms outside any window. Prints one line per iteration and
//! the errors of the misuse cases at the end.

use std::time::{Duration, Instant};

use rtt_window::{WindowError, Windows};

fn busy(us: u64) {
    let end = Instant::now() + Duration::from_micros(us);
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

fn arg(args: &[String], i: usize, default: Option<u64>) -> u64 {
    match (args.get(i).map(|a| a.parse::<u64>()), default) {
        (Some(Ok(v)), _) => v,
        (None, Some(d)) => d,
        _ => {
            eprintln!("usage: rtt_window_loop N BUDGET_US WORK_US [SLEEP_US]");
            std::process::exit(2);
        }
    }
}

fn main() -> Result<(), WindowError> {
    let args: Vec<String> = std::env::args().collect();
    let (n, budget, work, sleep) = (
        arg(&args, 1, None),
        arg(&args, 2, None),
        arg(&args, 3, None),
        arg(&args, 4, Some(0)),
    );
    let pid = std::process::id();
    println!("rtt_window_loop: task name=rtt_window_loop pid={pid} tid={pid}");
    for i in 0..n {
        let w = rtt_window::start_tagged(Duration::from_micros(budget), 0x77)?;
        busy(work);
        std::thread::sleep(Duration::from_micros(sleep));
        let o = w.stop()?;
        println!(
            "rtt_window_loop: i={i} over={} deadline={} depth={} duration_ns={} running_ns={} sleep_timer_ns={}",
            u8::from(o.over_budget),
            u8::from(o.deadline_reported),
            o.depth,
            o.duration.as_nanos(),
            o.running.as_nanos(),
            o.sleep_timer.as_nanos()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // a file of our own: nesting, and what misuse gets
    let own = Windows::open()?;
    let outer = own.start(Duration::from_secs(1))?;
    let inner = own.start(Duration::from_secs(1))?;
    let o = inner.stop()?;
    println!(
        "rtt_window_loop: inner depth={} over={}",
        o.depth,
        u8::from(o.over_budget)
    );
    let o = outer.stop()?;
    println!(
        "rtt_window_loop: outer depth={} over={}",
        o.depth,
        u8::from(o.over_budget)
    );
    match own.stop() {
        Err(e @ WindowError::NotOpen) => println!("rtt_window_loop: stop without start: {e}"),
        other => println!("rtt_window_loop: stop without start gave {other:?}"),
    }
    let mut guards = Vec::new();
    let deep = loop {
        match own.start(Duration::from_secs(1)) {
            Ok(g) => guards.push(g),
            Err(e) => break e,
        }
    };
    println!("rtt_window_loop: nested {} deep, then: {deep}", guards.len());
    drop(guards);
    // another thread stops nothing of ours
    let other = std::thread::scope(|s| {
        let g = own.start(Duration::from_secs(1));
        let r = s
            .spawn(|| own.stop().err().map(|e| e.to_string()))
            .join()
            .ok()
            .flatten();
        drop(g);
        r
    });
    println!(
        "rtt_window_loop: stop from another thread: {}",
        other.unwrap_or_default()
    );
    match own.start(Duration::ZERO) {
        Err(e) => println!("rtt_window_loop: zero budget: {e}"),
        Ok(_) => println!("rtt_window_loop: zero budget accepted"),
    }
    // an overrun makes our own file readable, and overruns() takes it
    let g = own.start(Duration::from_micros(500))?;
    busy(3000);
    let o = g.stop()?;
    println!(
        "rtt_window_loop: own overrun over={} deadline={} taken={}",
        u8::from(o.over_budget),
        u8::from(o.deadline_reported),
        own.overruns()?
    );
    println!("rtt_window_loop: done");
    Ok(())
}
