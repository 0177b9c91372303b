//! Turns configured targets into module tracking: RTT_IOC_ADD for PIDs, TGIDs
//! and IRQs; a periodic /proc scan for process names (attach when a process
//! starts, again after restarts) and IRQ names (/proc/interrupts); bounds and
//! linear histograms applied to every task a snapshot shows for a target.

use std::collections::HashSet;

use rt_protocol::metric;
use rt_uapi::{RttBound, RttLinHist, RttRecTask, RttTrack, RTT_F_TRACE, RTT_TRACK_IRQ, RTT_TRACK_PID, RTT_TRACK_TGID};

use crate::config::{Selector, Target};
use crate::log;
use crate::source::Ctl as Device;

/// Kernel TASK_COMM_LEN - 1.
const COMM_MAX: usize = 15;

pub struct Tracker {
    targets: Vec<Target>,
    /// (target index, tgid, start time) attached through a name.
    attached: Vec<(usize, i32, u64)>,
    /// (target index, IRQ number) resolved from a name.
    irqs: Vec<(usize, u32)>,
    /// (pid, metric) whose bound/histogram could not be set: not retried.
    failed: HashSet<(i32, u8, bool)>,
    logged: HashSet<String>,
    own_pid: i32,
}

fn log_once(logged: &mut HashSet<String>, msg: String) {
    if logged.insert(msg.clone()) {
        log(format_args!("{msg}"));
    }
}

impl Tracker {
    pub fn new(targets: Vec<Target>) -> Self {
        Tracker {
            targets,
            attached: Vec::new(),
            irqs: Vec::new(),
            failed: HashSet::new(),
            logged: HashSet::new(),
            own_pid: std::process::id() as i32,
        }
    }

    pub fn has_scanned_targets(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.sel, Selector::Name(_) | Selector::IrqName(_)))
    }

    fn add(&mut self, dev: &Device, kind: u32, id: i32, trace: bool, what: &str) -> bool {
        let t = RttTrack {
            kind,
            id,
            flags: if trace { RTT_F_TRACE } else { 0 },
            reserved: 0,
        };
        match dev.add(&t) {
            Ok(()) => {
                log(format_args!("tracking {what}"));
                true
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => true,
            Err(e) => {
                let hint = match e.raw_os_error() {
                    Some(libc::ESRCH) => " (no such task)",
                    Some(libc::ENOSPC) => " (module table full)",
                    _ => "",
                };
                log_once(&mut self.logged, format!("cannot track {what}: {e}{hint}"));
                false
            }
        }
    }

    /// The device was (re)opened: the module may have lost its state.
    pub fn on_open(&mut self, dev: &Device) {
        self.attached.clear();
        self.irqs.clear();
        self.failed.clear();
        for i in 0..self.targets.len() {
            let t = self.targets[i].clone();
            match &t.sel {
                Selector::Pid(p) => {
                    if self.add(dev, RTT_TRACK_PID, *p, t.trace, &format!("pid {p}")) {
                        self.apply(dev, i, *p);
                    }
                }
                Selector::Tgid(p) => {
                    if self.add(dev, RTT_TRACK_TGID, *p, t.trace, &format!("tgid {p}")) {
                        self.apply(dev, i, *p);
                    }
                }
                Selector::IrqNum(n) => {
                    self.add(dev, RTT_TRACK_IRQ, *n as i32, t.trace, &format!("irq {n}"));
                }
                Selector::Name(_) | Selector::IrqName(_) => {}
            }
        }
        self.scan(dev);
    }

    /// Periodic /proc scan for name targets.
    pub fn scan(&mut self, dev: &Device) {
        if !self.has_scanned_targets() {
            return;
        }
        // Forget processes that are gone (or whose pid was reused).
        self.attached
            .retain(|(_, pid, start)| proc_start_time(*pid) == Some(*start));
        let names: Vec<(usize, String, bool)> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.sel {
                Selector::Name(n) => Some((i, n.clone(), t.trace)),
                _ => None,
            })
            .collect();
        if !names.is_empty() {
            if let Ok(rd) = std::fs::read_dir("/proc") {
                for ent in rd.flatten() {
                    let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                        continue;
                    };
                    if pid == self.own_pid {
                        continue;
                    }
                    let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
                        continue;
                    };
                    let comm = comm.trim_end_matches('\n');
                    for (i, name, trace) in &names {
                        if !name_matches(name, comm) || self.attached.iter().any(|(t, p, _)| t == i && *p == pid) {
                            continue;
                        }
                        let Some(start) = proc_start_time(pid) else { continue };
                        if self.add(dev, RTT_TRACK_TGID, pid, *trace, &format!("{name} (tgid {pid})")) {
                            self.attached.push((*i, pid, start));
                            self.apply(dev, *i, pid);
                        }
                    }
                }
            }
        }
        // IRQ names (a driver may register its IRQ late).
        let unresolved: Vec<(usize, String, bool)> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.sel {
                Selector::IrqName(n) if !self.irqs.iter().any(|(j, _)| *j == i) => Some((i, n.clone(), t.trace)),
                _ => None,
            })
            .collect();
        if !unresolved.is_empty() {
            let text = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
            for (i, name, trace) in unresolved {
                match irq_by_name(&text, &name) {
                    Some(n) => {
                        if self.add(dev, RTT_TRACK_IRQ, n as i32, trace, &format!("irq {n} ({name})")) {
                            self.irqs.push((i, n));
                        }
                    }
                    None => log_once(
                        &mut self.logged,
                        format!("no IRQ named {name} in /proc/interrupts yet; will keep looking"),
                    ),
                }
            }
        }
    }

    fn target_of(&self, r: &RttRecTask) -> Option<usize> {
        let t = &r.task;
        self.targets.iter().enumerate().position(|(i, tg)| match &tg.sel {
            Selector::Pid(p) => t.pid == *p,
            Selector::Tgid(p) => t.tgid == *p,
            Selector::Name(_) => self.attached.iter().any(|(j, p, _)| *j == i && t.tgid == *p),
            Selector::IrqNum(n) => t.irq >= 0 && t.irq as u32 == *n,
            Selector::IrqName(_) => self
                .irqs
                .iter()
                .any(|(j, n)| *j == i && t.irq >= 0 && t.irq as u32 == *n),
        })
    }

    /// Make the module's bounds/histograms of this task match the configuration.
    pub fn on_snapshot(&mut self, dev: &Device, r: &RttRecTask) {
        let Some(i) = self.target_of(r) else { return };
        let tg = &self.targets[i];
        let pid = r.task.pid;
        let mut todo = Vec::new();
        for (m, stats) in r.m.iter().enumerate() {
            if let Some(b) = tg.bounds[m] {
                if stats.bound_ns != b {
                    todo.push((m as u8, Some(b), None));
                }
            }
            if let Some((lo, step)) = tg.lin[m] {
                if stats.lin_lo_ns != lo || stats.lin_step_ns != step {
                    todo.push((m as u8, None, Some((lo, step))));
                }
            }
        }
        for (m, b, l) in todo {
            self.set(dev, pid, m, b, l);
        }
    }

    /// Apply a target's bounds/histograms to one pid right after attaching.
    fn apply(&mut self, dev: &Device, i: usize, pid: i32) {
        let tg = self.targets[i].clone();
        for m in 0..metric::COUNT {
            let (b, l) = (tg.bounds[m as usize], tg.lin[m as usize]);
            if b.is_some() || l.is_some() {
                self.set(dev, pid, m, b, l);
            }
        }
    }

    fn set(&mut self, dev: &Device, pid: i32, m: u8, bound: Option<u64>, lin: Option<(u64, u64)>) {
        let name = metric::name(m).unwrap_or("?");
        if let Some(b) = bound {
            if !self.failed.contains(&(pid, m, false)) {
                let r = dev.set_bound(&RttBound {
                    pid,
                    metric: u32::from(m),
                    bound_ns: b,
                });
                if let Err(e) = r {
                    self.failed.insert((pid, m, false));
                    log_once(&mut self.logged, format!("cannot set {name} bound of pid {pid}: {e}"));
                }
            }
        }
        if let Some((lo, step)) = lin {
            if !self.failed.contains(&(pid, m, true)) {
                let r = dev.set_lin_hist(&RttLinHist {
                    pid,
                    metric: u32::from(m),
                    lo_ns: lo,
                    step_ns: step,
                });
                if let Err(e) = r {
                    self.failed.insert((pid, m, true));
                    log_once(
                        &mut self.logged,
                        format!("cannot set {name} histogram of pid {pid}: {e}"),
                    );
                }
            }
        }
    }
}

/// comm is cut to 15 bytes by the kernel.
pub fn name_matches(name: &str, comm: &str) -> bool {
    let n = name.as_bytes();
    let n = &n[..n.len().min(COMM_MAX)];
    n == comm.as_bytes()
}

/// Field 22 of /proc/PID/stat (start time in clock ticks): tells a restarted
/// process from the old one when the pid is reused.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Find an IRQ number by action name (e.g. "eth0") in /proc/interrupts text.
pub fn irq_by_name(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let (num, rest) = line.trim_start().split_once(':')?;
        let n: u32 = num.trim().parse().ok()?;
        rest.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .skip_while(|t| t.chars().all(|c| c.is_ascii_digit()))
            .any(|t| t == name)
            .then_some(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irq_names() {
        let t = "           CPU0       CPU1\n\
                  11:       1234       5678     GICv2  30 Level     arch_timer\n\
                  42:         10         20     GICv2 189 Level     eth0, eth0-rx\n\
                 IPI0:       100        200       Rescheduling interrupts\n";
        assert_eq!(irq_by_name(t, "eth0"), Some(42));
        assert_eq!(irq_by_name(t, "eth0-rx"), Some(42));
        assert_eq!(irq_by_name(t, "arch_timer"), Some(11));
        assert_eq!(irq_by_name(t, "mmc0"), None);
    }

    #[test]
    fn names_and_start_time() {
        assert!(name_matches("cyclictest", "cyclictest"));
        assert!(name_matches("a_very_long_process_name", "a_very_long_pro"));
        assert!(!name_matches("cyclic", "cyclictest"));
        let me = std::process::id() as i32;
        assert!(proc_start_time(me).is_some());
    }
}
