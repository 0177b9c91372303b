//! What waits for the link, in priority order, in preallocated memory.
//!
//! - urgent (violations, worst cases, dropped counts, notices, heartbeats,
//!   Hello): a FIFO of encoded payloads in a fixed byte ring; when it is full a
//!   violation or worst case is not forwarded and counted (the cumulative
//!   violation counts stay exact: they travel in every snapshot);
//! - routine snapshots: one slot per task holding only its latest snapshot;
//!   a snapshot replaced before it could be sent is counted as skipped; the
//!   slot that waited longest goes first. A task's final (exit) record takes
//!   its slot and is never replaced.

use std::collections::VecDeque;

use rt_protocol::{kind, Message, MAX_PAYLOAD};

pub const URGENT_BYTES: usize = 64 * 1024;
pub const URGENT_ENTRIES: usize = 1024;
pub const MAX_TASKS: usize = 128;
/// Rounds (snapshot ioctls) after which a slot of a vanished task is reused.
const STALE_ROUNDS: u64 = 5;

#[derive(Debug, Default, Clone, Copy)]
pub struct OutboxStats {
    pub snapshots_skipped: u64,
    pub violations_skipped: u64,
    pub worst_skipped: u64,
    pub other_skipped: u64,
}

struct Slot {
    used: bool,
    pid: i32,
    start_ns: u64,
    kind: u16,
    pending: bool,
    stamp: u64,
    round: u64,
    len: usize,
    buf: Box<[u8]>,
}

pub struct Outbox {
    ring: VecDeque<u8>,
    meta: VecDeque<(u16, usize)>,
    slots: Vec<Slot>,
    scratch: Box<[u8]>,
    stamp: u64,
    round: u64,
    pub stats: OutboxStats,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    pub fn new() -> Self {
        Outbox {
            ring: VecDeque::with_capacity(URGENT_BYTES),
            meta: VecDeque::with_capacity(URGENT_ENTRIES),
            slots: (0..MAX_TASKS)
                .map(|_| Slot {
                    used: false,
                    pid: 0,
                    start_ns: 0,
                    kind: 0,
                    pending: false,
                    stamp: 0,
                    round: 0,
                    len: 0,
                    buf: vec![0u8; MAX_PAYLOAD].into_boxed_slice(),
                })
                .collect(),
            scratch: vec![0u8; MAX_PAYLOAD].into_boxed_slice(),
            stamp: 0,
            round: 0,
            stats: OutboxStats::default(),
        }
    }

    fn skipped(&mut self, k: u16) {
        match k {
            kind::VIOLATION => self.stats.violations_skipped += 1,
            kind::WORST => self.stats.worst_skipped += 1,
            kind::TASK | kind::IRQ | kind::EXIT => self.stats.snapshots_skipped += 1,
            _ => self.stats.other_skipped += 1,
        }
    }

    /// Free space of the urgent queue in bytes.
    pub fn urgent_free(&self) -> usize {
        URGENT_BYTES - self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty() && !self.slots.iter().any(|s| s.pending)
    }

    /// Queue a message ahead of routine snapshots. False if it had to be dropped.
    pub fn push_urgent(&mut self, msg: &Message) -> bool {
        let k = msg.kind();
        let n = match msg.encode_payload(&mut self.scratch) {
            Ok(p) => p.len(),
            Err(_) => {
                self.skipped(k);
                return false;
            }
        };
        if self.ring.len() + n > URGENT_BYTES || self.meta.len() == URGENT_ENTRIES {
            self.skipped(k);
            return false;
        }
        self.ring.extend(self.scratch[..n].iter().copied());
        self.meta.push_back((k, n));
        true
    }

    /// A new snapshot round started (RTT_IOC_SNAPSHOT issued).
    pub fn new_round(&mut self) {
        self.round += 1;
        let round = self.round;
        for s in self.slots.iter_mut().filter(|s| s.used && !s.pending) {
            if s.round + STALE_ROUNDS < round {
                s.used = false;
            }
        }
    }

    /// Keep only the latest snapshot of each task (TASK, IRQ or EXIT message).
    pub fn push_snapshot(&mut self, msg: &Message) {
        let (Message::Task(s) | Message::Irq(s) | Message::Exit(s)) = msg else {
            self.push_urgent(msg);
            return;
        };
        let k = msg.kind();
        let n = match msg.encode_payload(&mut self.scratch) {
            Ok(p) => p.len(),
            Err(_) => {
                self.skipped(k);
                return;
            }
        };
        let (pid, start) = (s.task.pid, s.task.start_ns);
        let idx = self
            .slots
            .iter()
            .position(|s| s.used && s.pid == pid && s.start_ns == start)
            .or_else(|| self.slots.iter().position(|s| !s.used))
            .or_else(|| {
                // Reuse the slot of the task not seen for longest (already sent).
                self.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.pending)
                    .min_by_key(|(_, s)| s.round)
                    .map(|(i, _)| i)
            });
        let Some(idx) = idx else {
            // Every slot holds an unsent snapshot: this one waits for the next round.
            self.skipped(k);
            return;
        };
        self.stamp += 1;
        let (stamp, round) = (self.stamp, self.round);
        let slot = &mut self.slots[idx];
        if slot.used && slot.pid == pid && slot.start_ns == start && slot.pending {
            if slot.kind == kind::EXIT {
                // The final record already waits; nothing newer can exist.
                self.stats.snapshots_skipped += 1;
                return;
            }
            self.stats.snapshots_skipped += 1;
        } else {
            slot.stamp = stamp;
        }
        slot.used = true;
        slot.pid = pid;
        slot.start_ns = start;
        slot.kind = k;
        slot.pending = true;
        slot.round = round;
        slot.len = n;
        slot.buf[..n].copy_from_slice(&self.scratch[..n]);
    }

    /// Size of the next payload, if any (to check the link budget first).
    pub fn peek_len(&self) -> Option<usize> {
        if let Some((_, n)) = self.meta.front() {
            return Some(*n);
        }
        self.next_slot().map(|i| self.slots[i].len)
    }

    fn next_slot(&self) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.pending)
            .min_by_key(|(_, s)| s.stamp)
            .map(|(i, _)| i)
    }

    /// Take the next payload into `out`: `(kind, len)`.
    pub fn pop(&mut self, out: &mut [u8]) -> Option<(u16, usize)> {
        if let Some((k, n)) = self.meta.pop_front() {
            for (o, b) in out[..n].iter_mut().zip(self.ring.drain(..n)) {
                *o = b;
            }
            return Some((k, n));
        }
        let i = self.next_slot()?;
        let s = &mut self.slots[i];
        s.pending = false;
        out[..s.len].copy_from_slice(&s.buf[..s.len]);
        if s.kind == kind::EXIT {
            s.used = false;
        }
        Some((s.kind, s.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::*;

    fn snap(pid: i32, t: u64, k: u16) -> Message {
        let s = TaskSnapshot {
            t_ns: t,
            task: TaskInfo {
                pid,
                start_ns: 7,
                ..Default::default()
            },
            ..Default::default()
        };
        match k {
            kind::EXIT => Message::Exit(s),
            _ => Message::Task(s),
        }
    }

    fn pop_msg(o: &mut Outbox) -> Option<Message> {
        let mut buf = vec![0u8; MAX_PAYLOAD];
        let (k, n) = o.pop(&mut buf)?;
        Message::decode_payload(k, &buf[..n]).unwrap()
    }

    #[test]
    fn urgent_first_latest_snapshot_wins_and_skips_are_counted() {
        let mut o = Outbox::new();
        o.push_snapshot(&snap(1, 1, kind::TASK));
        o.push_snapshot(&snap(2, 1, kind::TASK));
        o.push_snapshot(&snap(1, 2, kind::TASK));
        let v = Message::Violation(Violation::default());
        assert!(o.push_urgent(&v));
        assert_eq!(pop_msg(&mut o), Some(v));
        // task 1 waited longest: its latest snapshot goes first
        assert_eq!(pop_msg(&mut o), Some(snap(1, 2, kind::TASK)));
        assert_eq!(pop_msg(&mut o), Some(snap(2, 1, kind::TASK)));
        assert_eq!(pop_msg(&mut o), None);
        assert_eq!(o.stats.snapshots_skipped, 1);
        // exit is final
        o.push_snapshot(&snap(3, 1, kind::EXIT));
        o.push_snapshot(&snap(3, 2, kind::TASK));
        assert_eq!(pop_msg(&mut o), Some(snap(3, 1, kind::EXIT)));
        assert!(o.is_empty());
    }

    #[test]
    fn urgent_overflow_is_counted() {
        let mut o = Outbox::new();
        let v = Message::Violation(Violation::default());
        let mut sent = 0;
        for _ in 0..URGENT_ENTRIES + 10 {
            if o.push_urgent(&v) {
                sent += 1;
            }
        }
        assert_eq!(sent, URGENT_ENTRIES);
        assert_eq!(o.stats.violations_skipped, 10);
    }
}
