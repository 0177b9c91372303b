//! The compatibility promise of the record stream (rt_tracer.h, rtt_rec_hdr):
//! a reader skips records of unknown type by hdr.size, reads a known record
//! that is longer than its struct by the known prefix (a newer minor appended
//! fields), and reads a 1.1 WORST (before nr_culprits) with the culprit count
//! inferred from the non-empty entries.
use std::mem::size_of;

use rt_uapi::*;
use zerocopy::IntoBytes;

fn hdr(type_: u16, size: usize, seq: u32) -> RttRecHdr {
    RttRecHdr {
        type_,
        size: size as u16,
        seq,
        t_ns: 1000 + u64::from(seq),
    }
}

fn culprit(pid: i32, ns: u64) -> RttCulprit {
    RttCulprit {
        pid,
        ns,
        ..Default::default()
    }
}

fn dropped(seq: u32, violations: u64) -> Vec<u8> {
    let d = RttRecDropped {
        hdr: hdr(RTT_REC_DROPPED, size_of::<RttRecDropped>(), seq),
        violations,
        ..Default::default()
    };
    d.as_bytes().to_vec()
}

/// A 1.2 WORST with `n` culprits in use (pids 10, 11, ...).
fn worst_1_2(n: u32) -> RttRecWorst {
    let mut w = RttRecWorst {
        hdr: hdr(RTT_REC_WORST, size_of::<RttRecWorst>(), 1),
        metric: RTT_METRIC_RESPONSE,
        value_ns: 1_059_000,
        nr_culprits: n,
        ..Default::default()
    };
    for i in 0..n as usize {
        w.culprits[i] = culprit(10 + i as i32, 100 - i as u64);
    }
    w
}

fn parse_all(mut buf: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (r, n) = parse_record(buf).expect("record");
        out.push(r);
        buf = &buf[n..];
    }
    out
}

fn pids<'a>(it: impl Iterator<Item = &'a RttCulprit>) -> Vec<i32> {
    it.map(|c| c.pid).collect()
}

#[test]
fn worst_of_1_2_uses_nr_culprits() {
    // The count is exact even where an entry in use looks empty (pid 0, the
    // idle task, with under 1 ns), which inference would skip.
    let mut w = worst_1_2(3);
    w.culprits[1] = culprit(0, 0);
    let bytes = w.as_bytes().to_vec();
    assert_eq!(bytes.len(), 1816);
    let (Record::Worst(r), n) = parse_record(&bytes).unwrap() else {
        panic!("not a worst record")
    };
    assert_eq!(n, 1816);
    assert_eq!(r.nr_culprits, 3);
    assert_eq!(pids(r.used_culprits()), [10, 0, 12]);

    // A count larger than the array (a damaged record) stays within it.
    let mut w = worst_1_2(RTT_CULPRITS as u32);
    w.nr_culprits = 1000;
    let (Record::Worst(r), _) = parse_record(w.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.used_culprits().count(), RTT_CULPRITS);

    // No culprit at all, even with stale bytes in the entries.
    let mut w = worst_1_2(0);
    w.culprits[0] = culprit(99, 1);
    let (Record::Worst(r), _) = parse_record(w.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.used_culprits().count(), 0);
}

#[test]
fn worst_of_1_1_is_read_and_culprits_inferred() {
    let w = worst_1_2(2);
    // What a 1.1 module sends: the record without nr_culprits and pad.
    let mut old = w.as_bytes()[..c_size::REC_WORST_V1_1].to_vec();
    old[2..4].copy_from_slice(&(c_size::REC_WORST_V1_1 as u16).to_le_bytes());
    old.extend_from_slice(&dropped(2, 7));

    let recs = parse_all(&old);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let Record::Worst(r) = &recs[0] else {
        panic!("{:?}", recs[0])
    };
    assert_eq!(usize::from(r.hdr.size), 1808);
    assert_eq!(r.value_ns, 1_059_000);
    assert_eq!(r.nr_culprits, 0, "absent field reads as zero");
    assert_eq!(pids(r.used_culprits()), [10, 11]);
    assert!(matches!(recs[1], Record::Dropped(d) if d.violations == 7));
}

#[test]
fn longer_known_records_are_read_by_their_prefix() {
    // A future minor appends 24 bytes to WORST and 8 to DROPPED.
    let w = worst_1_2(1);
    let mut bytes = w.as_bytes().to_vec();
    bytes.extend_from_slice(&[0xee; 24]);
    let size = bytes.len();
    bytes[2..4].copy_from_slice(&(size as u16).to_le_bytes());
    let mut d = dropped(2, 5);
    d.extend_from_slice(&[0xdd; 8]);
    let dsize = d.len() as u16;
    d[2..4].copy_from_slice(&dsize.to_le_bytes());
    bytes.extend_from_slice(&d);
    bytes.extend_from_slice(&dropped(3, 6));

    let recs = parse_all(&bytes);
    assert_eq!(recs.len(), 3, "{recs:?}");
    let Record::Worst(r) = &recs[0] else { panic!() };
    assert_eq!(usize::from(r.hdr.size), size);
    assert_eq!(r.nr_culprits, 1);
    assert_eq!(r.pad, 0, "the appended bytes are not read into known fields");
    assert_eq!(pids(r.used_culprits()), [10]);
    assert!(matches!(recs[1], Record::Dropped(d) if d.violations == 5 && d.hdr.seq == 2));
    assert!(matches!(recs[2], Record::Dropped(d) if d.violations == 6 && d.hdr.seq == 3));
}

#[test]
fn unknown_types_are_skipped_by_size() {
    let mut bytes = hdr(200, 40, 1).as_bytes().to_vec();
    bytes.extend_from_slice(&[0xab; 24]);
    bytes.extend_from_slice(&dropped(2, 9));
    let recs = parse_all(&bytes);
    assert!(matches!(recs[0], Record::Unknown(h) if h.type_ == 200 && h.size == 40));
    assert!(matches!(recs[1], Record::Dropped(d) if d.violations == 9));
    assert_eq!(recs.len(), 2);
}

#[test]
fn known_records_too_short_are_skippable_errors() {
    // Shorter than any version of WORST: an error, but the next record is found.
    let mut bytes = worst_1_2(1).as_bytes()[..1000].to_vec();
    bytes[2..4].copy_from_slice(&1000u16.to_le_bytes());
    bytes.extend_from_slice(&dropped(2, 4));
    assert_eq!(
        parse_record(&bytes).unwrap_err(),
        RecordError::TooShort {
            type_: RTT_REC_WORST,
            size: 1000,
            min: 1808
        }
    );
    let (r, _) = parse_record(&bytes[1000..]).unwrap();
    assert!(matches!(r, Record::Dropped(d) if d.violations == 4));

    // Shorter than a header: where the next record starts is unknown.
    let h = hdr(RTT_REC_TASK, 8, 1);
    assert_eq!(
        parse_record(h.as_bytes()).unwrap_err(),
        RecordError::BadSize {
            type_: RTT_REC_TASK,
            size: 8
        }
    );
    // Not all there yet.
    assert_eq!(parse_record(&dropped(1, 1)[..30]).unwrap_err(), RecordError::Incomplete);
    assert_eq!(parse_record(&[1, 0, 40]).unwrap_err(), RecordError::Incomplete);
}

#[test]
fn minimum_sizes_are_the_oldest_versions() {
    assert_eq!(min_record_size(RTT_REC_TASK), Some(c_size::REC_TASK));
    assert_eq!(min_record_size(RTT_REC_VIOLATION), Some(c_size::REC_VIOLATION));
    assert_eq!(min_record_size(RTT_REC_WORST), Some(1808));
    assert_eq!(min_record_size(RTT_REC_DROPPED), Some(c_size::REC_DROPPED));
    assert_eq!(min_record_size(RTT_REC_WINDOW), Some(c_size::REC_WINDOW));
    assert_eq!(min_record_size(RTT_REC_WINDOW_STATS), Some(c_size::REC_WINDOW_STATS));
    assert_eq!(min_record_size(0), None);
    assert_eq!(min_record_size(7), None);
}
