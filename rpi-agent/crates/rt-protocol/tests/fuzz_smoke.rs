//! Stable, bounded smoke run of the fuzz target `fuzz/fuzz_targets/decode_stream.rs`:
//! random inputs and mutations of valid streams (bit flips, splices, cuts,
//! duplicated spans) fed to the same body. Iterations: RT_FUZZ_ITERS
//! (default 3000 here; scripts/check runs more in release mode).
mod common;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rt_protocol::{fuzzing, FrameEncoder, StreamDecoder, MAX_WIRE};

/// Small xorshift generator: deterministic per seed, no extra dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        if data.is_empty() {
            data.push(rng.next() as u8);
        }
        let i = rng.below(data.len());
        match rng.below(6) {
            0 => data[i] ^= 1 << rng.below(8),
            1 => data[i] = rng.next() as u8,
            2 => {
                data.remove(i);
            }
            3 => data.insert(i, [0u8, 1, b'\n', 0xff][rng.below(4)]),
            4 => data.truncate(i),
            _ => {
                let j = rng.below(data.len());
                let (a, b) = (i.min(j), i.max(j).min(a_len(data, i.min(j))));
                let span: Vec<u8> = data[a..b].to_vec();
                let at = rng.below(data.len());
                data.splice(at..at, span);
            }
        }
    }
}

fn a_len(data: &[u8], a: usize) -> usize {
    (a + 64).min(data.len())
}

#[test]
fn fuzz_smoke() {
    let iters: usize = std::env::var("RT_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("RT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed | 1);
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let strategy = proptest::collection::vec(message(), 1..4);
    let mut dec = Box::new(StreamDecoder::new());
    let mut enc = Box::new(FrameEncoder::new());
    let mut wire_buf = Box::new([0u8; MAX_WIRE]);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for i in 0..iters {
        let input = match i % 4 {
            // pure noise
            0 => (0..rng.below(600)).map(|_| rng.next() as u8).collect(),
            // fresh valid stream with console text
            1 if corpus.len() < 64 || rng.below(8) == 0 => {
                let msgs = strategy.new_tree(&mut runner).expect("strategy").current();
                let mut s = b"[    1.000000] console\n".to_vec();
                for (n, m) in msgs.iter().enumerate() {
                    s.extend(wire(n as u32, m));
                    s.extend_from_slice(b"# ");
                }
                corpus.push(s.clone());
                s
            }
            // mutated valid stream
            _ if !corpus.is_empty() => {
                let mut s = corpus[rng.below(corpus.len())].clone();
                mutate(&mut rng, &mut s);
                s
            }
            _ => vec![0, 1, 2, 3],
        };
        // fresh decoder state now and then, carried-over state otherwise
        if rng.below(4) == 0 {
            *dec = StreamDecoder::new();
        }
        fuzzing::decode_stream(&mut dec, &mut enc, &mut wire_buf, &input);
    }
}
