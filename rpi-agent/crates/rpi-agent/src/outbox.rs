//! What waits for the link, in priority order, in preallocated memory.
//!
//! - urgent (violations, worst cases, dropped counts, notices, heartbeats,
//!   Hello, stimulus pulses and summaries): a FIFO of encoded payloads in a
//!   fixed byte ring; when it is full a violation or worst case is not
//!   forwarded and counted (the cumulative violation counts stay exact: they
//!   travel in every snapshot). Violations and worst cases may fill it only
//!   up to [`OWN_RESERVE_BYTES`] / [`OWN_RESERVE_ENTRIES`] short of full: a
//!   burst of them cannot crowd out the heartbeats that count what was
//!   skipped, or a stimulus summary;
//! - routine snapshots: one slot per task (and per task and window tag for
//!   window statistics) holding only its latest snapshot;
//!   a snapshot replaced before it could be sent is counted as skipped; the
//!   slot that waited longest goes first. A task's final (exit) record takes
//!   its slot and is never replaced.
//!
//! A message that cannot be encoded is not queued: it is counted in
//! `encode_errors` (not as skipped, which means the link was too slow) and
//! kept for the agent to report ([`Outbox::take_encode_error`]).

use std::collections::VecDeque;

use rt_protocol::{kind, Message, MAX_PAYLOAD};

/// Lower-case name of a message kind, for notices and logs.
pub fn kind_name(k: u16) -> &'static str {
    match k {
        kind::HELLO => "hello",
        kind::HEARTBEAT => "heartbeat",
        kind::TASK => "task",
        kind::IRQ => "irq",
        kind::EXIT => "exit",
        kind::VIOLATION => "violation",
        kind::WORST => "worst",
        kind::DROPPED => "dropped",
        kind::NOTICE => "notice",
        kind::GPIO_PULSE => "gpio pulse",
        kind::GPIO_SUMMARY => "gpio summary",
        kind::WINDOW => "window overrun",
        kind::WINDOW_STATS => "window stats",
        _ => "unknown",
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Counted in the skipped counters: normal when the link is slower
    /// than what there is to say.
    #[error("{} message skipped: the queue is full", kind_name(*.0))]
    Full(u16),
    /// A snapshot of a task whose final (exit) record waits: counted as skipped.
    #[error("{} snapshot skipped: the task's exit record is still queued", kind_name(*.0))]
    AfterExit(u16),
    /// A bug: every message of this protocol fits MAX_PAYLOAD.
    #[error("{} message could not be encoded ({reason})", kind_name(*kind))]
    Encode { kind: u16, reason: postcard::Error },
}

pub const URGENT_BYTES: usize = 64 * 1024;
pub const URGENT_ENTRIES: usize = 1024;
/// Room of the urgent queue that only the agent's own messages may use.
pub const OWN_RESERVE_BYTES: usize = 4 * 1024;
pub const OWN_RESERVE_ENTRIES: usize = 32;
pub const MAX_TASKS: usize = 128;
/// Rounds (snapshot ioctls) after which a slot of a vanished task is reused.
const STALE_ROUNDS: u64 = 5;

#[derive(Debug, Default, Clone, Copy)]
pub struct OutboxStats {
    pub snapshots_skipped: u64,
    pub violations_skipped: u64,
    pub worst_skipped: u64,
    pub other_skipped: u64,
    /// Messages that could not be encoded (not queued).
    pub encode_errors: u64,
}

struct Slot {
    used: bool,
    pid: i32,
    start_ns: u64,
    /// None: the task's snapshot; Some: its window statistics of a tag.
    tag: Option<u64>,
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
    /// The latest encoding failure not yet reported.
    encode_error: Option<PushError>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    pub fn new() -> Self {
        Self::with_payload_limit(MAX_PAYLOAD)
    }

    /// An outbox that encodes payloads of at most `limit` bytes (tests:
    /// make encoding fail; the protocol's limit is MAX_PAYLOAD).
    pub fn with_payload_limit(limit: usize) -> Self {
        Outbox {
            ring: VecDeque::with_capacity(URGENT_BYTES),
            meta: VecDeque::with_capacity(URGENT_ENTRIES),
            slots: (0..MAX_TASKS)
                .map(|_| Slot {
                    used: false,
                    pid: 0,
                    start_ns: 0,
                    tag: None,
                    kind: 0,
                    pending: false,
                    stamp: 0,
                    round: 0,
                    len: 0,
                    buf: vec![0u8; MAX_PAYLOAD].into_boxed_slice(),
                })
                .collect(),
            scratch: vec![0u8; limit.min(MAX_PAYLOAD)].into_boxed_slice(),
            stamp: 0,
            round: 0,
            stats: OutboxStats::default(),
            encode_error: None,
        }
    }

    /// The latest message that could not be encoded, since the last call.
    pub fn take_encode_error(&mut self) -> Option<PushError> {
        self.encode_error.take()
    }

    /// Encode `msg` into the scratch buffer: its length.
    fn encode(&mut self, msg: &Message) -> Result<usize, PushError> {
        match msg.encode_payload(&mut self.scratch) {
            Ok(p) => Ok(p.len()),
            Err(reason) => {
                self.stats.encode_errors += 1;
                let e = PushError::Encode {
                    kind: msg.kind(),
                    reason,
                };
                self.encode_error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn skipped(&mut self, k: u16) {
        match k {
            kind::VIOLATION | kind::WINDOW => self.stats.violations_skipped += 1,
            kind::WORST => self.stats.worst_skipped += 1,
            kind::TASK | kind::IRQ | kind::EXIT | kind::WINDOW_STATS => self.stats.snapshots_skipped += 1,
            _ => self.stats.other_skipped += 1,
        }
    }

    /// Free space of the urgent queue for the module's records, in bytes.
    pub fn urgent_free(&self) -> usize {
        (URGENT_BYTES - OWN_RESERVE_BYTES).saturating_sub(self.ring.len())
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty() && !self.slots.iter().any(|s| s.pending)
    }

    /// Queue a message ahead of routine snapshots. Every error is counted
    /// (see [`PushError`]); callers need not count again.
    pub fn push_urgent(&mut self, msg: &Message) -> Result<(), PushError> {
        let k = msg.kind();
        let n = self.encode(msg)?;
        let (bytes, entries) = match k {
            kind::VIOLATION | kind::WORST | kind::WINDOW => {
                (URGENT_BYTES - OWN_RESERVE_BYTES, URGENT_ENTRIES - OWN_RESERVE_ENTRIES)
            }
            _ => (URGENT_BYTES, URGENT_ENTRIES),
        };
        if self.ring.len() + n > bytes || self.meta.len() >= entries {
            self.skipped(k);
            return Err(PushError::Full(k));
        }
        self.ring.extend(self.scratch[..n].iter().copied());
        self.meta.push_back((k, n));
        Ok(())
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

    /// Keep only the latest snapshot of each task (TASK, IRQ or EXIT
    /// message) and of each of its window tags (WINDOW_STATS).
    pub fn push_snapshot(&mut self, msg: &Message) -> Result<(), PushError> {
        let (pid, start, tag) = match msg {
            Message::Task(s) | Message::Irq(s) | Message::Exit(s) => (s.task.pid, s.task.start_ns, None),
            Message::WindowStats(w) => (w.task.pid, w.task.start_ns, Some(w.tag)),
            _ => return self.push_urgent(msg),
        };
        let k = msg.kind();
        let n = self.encode(msg)?;
        let idx = self
            .slots
            .iter()
            .position(|s| s.used && s.pid == pid && s.start_ns == start && s.tag == tag)
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
            return Err(PushError::Full(k));
        };
        self.stamp += 1;
        let (stamp, round) = (self.stamp, self.round);
        let slot = &mut self.slots[idx];
        if slot.used && slot.pid == pid && slot.start_ns == start && slot.tag == tag && slot.pending {
            if slot.kind == kind::EXIT {
                // The final record already waits; nothing newer can exist.
                self.stats.snapshots_skipped += 1;
                return Err(PushError::AfterExit(k));
            }
            self.stats.snapshots_skipped += 1;
        } else {
            slot.stamp = stamp;
        }
        slot.used = true;
        slot.pid = pid;
        slot.start_ns = start;
        slot.tag = tag;
        slot.kind = k;
        slot.pending = true;
        slot.round = round;
        slot.len = n;
        slot.buf[..n].copy_from_slice(&self.scratch[..n]);
        Ok(())
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

    fn win(pid: i32, tag: u64, t: u64) -> Message {
        Message::WindowStats(WindowStats {
            t_ns: t,
            task: TaskInfo {
                pid,
                start_ns: 7,
                ..Default::default()
            },
            tag,
            ..Default::default()
        })
    }

    #[test]
    fn window_stats_keep_the_latest_per_task_and_tag_beside_the_snapshot() {
        let mut o = Outbox::new();
        o.push_snapshot(&snap(1, 1, kind::TASK)).unwrap();
        o.push_snapshot(&win(1, 10, 1)).unwrap();
        o.push_snapshot(&win(1, 20, 1)).unwrap();
        o.push_snapshot(&snap(1, 2, kind::TASK)).unwrap();
        o.push_snapshot(&win(1, 10, 2)).unwrap();
        let mut got = Vec::new();
        while let Some(m) = pop_msg(&mut o) {
            got.push(m);
        }
        assert_eq!(got, [snap(1, 2, kind::TASK), win(1, 10, 2), win(1, 20, 1)]);
        assert_eq!(o.stats.snapshots_skipped, 2);
        // An overrun is urgent and, as a module record, kept out of the reserve.
        let w = Message::Window(WindowOverrun::default());
        assert_eq!(o.push_urgent(&w), Ok(()));
        assert_eq!(pop_msg(&mut o), Some(w));
    }

    #[test]
    fn urgent_first_latest_snapshot_wins_and_skips_are_counted() {
        let mut o = Outbox::new();
        o.push_snapshot(&snap(1, 1, kind::TASK)).unwrap();
        o.push_snapshot(&snap(2, 1, kind::TASK)).unwrap();
        o.push_snapshot(&snap(1, 2, kind::TASK)).unwrap();
        let v = Message::Violation(Violation::default());
        assert_eq!(o.push_urgent(&v), Ok(()));
        assert_eq!(pop_msg(&mut o), Some(v));
        // task 1 waited longest: its latest snapshot goes first
        assert_eq!(pop_msg(&mut o), Some(snap(1, 2, kind::TASK)));
        assert_eq!(pop_msg(&mut o), Some(snap(2, 1, kind::TASK)));
        assert_eq!(pop_msg(&mut o), None);
        assert_eq!(o.stats.snapshots_skipped, 1);
        // exit is final
        o.push_snapshot(&snap(3, 1, kind::EXIT)).unwrap();
        assert_eq!(
            o.push_snapshot(&snap(3, 2, kind::TASK)),
            Err(PushError::AfterExit(kind::TASK))
        );
        assert_eq!(pop_msg(&mut o), Some(snap(3, 1, kind::EXIT)));
        assert!(o.is_empty());
    }

    #[test]
    fn urgent_overflow_is_counted() {
        let mut o = Outbox::new();
        let v = Message::Violation(Violation::default());
        let mut sent = 0;
        for _ in 0..URGENT_ENTRIES + 10 {
            match o.push_urgent(&v) {
                Ok(()) => sent += 1,
                Err(e) => assert_eq!(e, PushError::Full(kind::VIOLATION)),
            }
        }
        assert_eq!(sent, URGENT_ENTRIES - OWN_RESERVE_ENTRIES);
        assert_eq!(o.stats.violations_skipped, 10 + OWN_RESERVE_ENTRIES as u64);
        // The agent's own messages still go, into the reserve; once that is
        // full they are skipped too and travel as Heartbeat.other_skipped.
        let h = Message::Heartbeat(Heartbeat::default());
        let g = Message::GpioSummary(GpioSummary::default());
        for i in 0..OWN_RESERVE_ENTRIES {
            let m = if i % 2 == 0 { &h } else { &g };
            assert_eq!(o.push_urgent(m), Ok(()), "own message {i}");
        }
        let n = Message::Notice(Notice::default());
        assert_eq!(o.push_urgent(&n), Err(PushError::Full(kind::NOTICE)));
        assert_eq!(o.push_urgent(&h), Err(PushError::Full(kind::HEARTBEAT)));
        assert_eq!(o.stats.other_skipped, 2);
        // Records queued first go first: the reserve does not reorder.
        assert!(matches!(pop_msg(&mut o), Some(Message::Violation(_))));
        assert_eq!(o.push_urgent(&v), Err(PushError::Full(kind::VIOLATION)));
        assert_eq!(o.stats.encode_errors, 0);
        assert_eq!(o.take_encode_error(), None);
    }

    #[test]
    fn encode_errors_are_counted_apart_and_kept_for_a_report() {
        let mut o = Outbox::with_payload_limit(40);
        let mut w = Worst::default();
        for _ in 0..4 {
            w.culprits.push(Culprit::default()).unwrap();
        }
        w.task.comm = bounded_str("a_long_comm_15c");
        let err = o.push_urgent(&Message::Worst(w)).unwrap_err();
        assert!(matches!(err, PushError::Encode { kind: kind::WORST, .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("worst message could not be encoded"),
            "{err}"
        );
        let mut big = TaskSnapshot::default();
        big.task.comm = bounded_str("a_long_comm_15c");
        for _ in 0..3 {
            big.metrics.push(MetricStats::default()).unwrap();
        }
        let err = o.push_snapshot(&Message::Task(big)).unwrap_err();
        assert!(matches!(err, PushError::Encode { kind: kind::TASK, .. }), "{err:?}");
        // Small messages still go through.
        assert_eq!(o.push_urgent(&Message::Dropped(Dropped::default())), Ok(()));
        assert_eq!(o.stats.encode_errors, 2);
        assert_eq!((o.stats.worst_skipped, o.stats.snapshots_skipped), (0, 0));
        assert_eq!(o.take_encode_error(), Some(err));
        assert_eq!(o.take_encode_error(), None);
        assert!(matches!(pop_msg(&mut o), Some(Message::Dropped(_))));
        assert!(o.is_empty());
    }
}
