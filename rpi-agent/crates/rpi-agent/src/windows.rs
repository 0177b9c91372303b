//! The configured budget windows on binaries (`[[window]]`, `--window`):
//! resolved in their ELF files and bound with RTT_IOC_WINDOW_BIND each
//! time the module (re)appears; unbound when the agent stops, so that a
//! stopped agent leaves no probe behind.

use std::collections::HashSet;

use rtt_elf::Binding;

use crate::config::WindowSpec;
use crate::log;
use crate::source::Ctl as Device;

pub struct Windows {
    specs: Vec<WindowSpec>,
    /// What this agent bound (and so unbinds).
    bound: Vec<Binding>,
    logged: HashSet<String>,
}

/// What the module's errno means for a binding.
fn bind_hint(errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EEXIST) => " (that PATH and START is bound already: left as it is)",
        Some(libc::ENOENT) => " (the module cannot open PATH: is it there on this system?)",
        Some(libc::ERANGE) => " (an offset beyond the file: was it rebuilt since?)",
        Some(libc::ENOSPC) => " (all 16 bindings are in use: see /sys/kernel/rt_tracer/windows)",
        Some(libc::EPERM) => " (binding needs CAP_SYS_ADMIN)",
        Some(libc::ENOTTY) => " (the module predates bindings by ioctl, UAPI 1.4)",
        _ => "",
    }
}

impl Windows {
    pub fn new(specs: Vec<WindowSpec>) -> Self {
        Windows {
            specs,
            bound: Vec::new(),
            logged: HashSet::new(),
        }
    }

    fn log_once(&mut self, msg: String) {
        if self.logged.insert(msg.clone()) {
            log(format_args!("{msg}"));
        }
    }

    /// The device was (re)opened: a reloaded module has no bindings.
    pub fn on_open(&mut self, dev: &Device) {
        self.bound.clear();
        for spec in self.specs.clone() {
            let b = match Binding::resolve(&spec.path, &spec.start, &spec.stop, spec.budget_ns) {
                Ok(b) => b,
                Err(e) => {
                    self.log_once(format!("window {}:{} not bound: {e}", spec.path, spec.start));
                    continue;
                }
            };
            match dev.bind(&b.bind_spec()) {
                Ok(()) => {
                    log(format_args!(
                        "window bound: {} {}..{}: {}",
                        spec.path,
                        spec.start,
                        spec.stop,
                        b.bind_spec()
                    ));
                    self.bound.push(b);
                }
                Err(e) => {
                    let hint = bind_hint(e.raw_os_error());
                    self.log_once(format!("window {} not bound: {e}{hint}", b.bind_spec()));
                }
            }
        }
    }

    /// At the agent's end: its bindings go.
    pub fn unbind_all(&mut self, dev: &Device) {
        for b in std::mem::take(&mut self.bound) {
            match dev.bind(&b.unbind_spec()) {
                Ok(()) => log(format_args!("window unbound: {}", b.unbind_spec())),
                // the module went, and its bindings with it
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => log(format_args!("window {}: {e}", b.unbind_spec())),
            }
        }
    }
}
