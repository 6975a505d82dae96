//! Deterministic clocks and randomness for guests.
//!
//! A port's WASM logic must not be able to make two builds of the same port
//! differ, so it never sees the real time or real entropy: the wall clock is
//! frozen at SOURCE_DATE_EPOCH, the monotonic clock advances by a fixed step
//! per reading, and random numbers come from a generator seeded by the port's
//! identity and the phase.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// A wall clock that always reads SOURCE_DATE_EPOCH.
pub struct FrozenWallClock {
    epoch: Duration,
}

impl FrozenWallClock {
    pub fn new(source_date_epoch: u64) -> Self {
        Self {
            epoch: Duration::from_secs(source_date_epoch),
        }
    }
}

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.epoch
    }
}

/// A monotonic clock that advances one microsecond per reading, so code that
/// measures elapsed time sees time pass, but always the same amount.
#[derive(Default)]
pub struct SteppingClock {
    ticks: AtomicU64,
}

const STEP_NANOS: u64 = 1_000;

impl HostMonotonicClock for SteppingClock {
    fn resolution(&self) -> u64 {
        STEP_NANOS
    }
    fn now(&self) -> u64 {
        self.ticks.fetch_add(STEP_NANOS, Ordering::Relaxed) + STEP_NANOS
    }
}

/// Seeds derived from what identifies a build phase: port, version, revision
/// and phase. Distinct streams for the secure and insecure generators.
pub struct Seeds {
    pub secure: [u8; 32],
    pub insecure: [u8; 32],
    pub insecure_seed: u128,
}

impl Seeds {
    pub fn derive(name: &str, version: &str, revision: u32, phase: &str) -> Self {
        let stream = |label: &str| -> [u8; 32] {
            let mut h = Sha256::new();
            for part in [
                "wport-rng-v1",
                label,
                name,
                version,
                &revision.to_string(),
                phase,
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            h.finalize().into()
        };
        let secure = stream("secure");
        let insecure = stream("insecure");
        let seed = stream("insecure-seed");
        let insecure_seed = u128::from_le_bytes(seed[..16].try_into().expect("16 bytes"));
        Seeds {
            secure,
            insecure,
            insecure_seed,
        }
    }

    pub fn secure_rng(&self) -> StdRng {
        StdRng::from_seed(self.secure)
    }

    pub fn insecure_rng(&self) -> StdRng {
        StdRng::from_seed(self.insecure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_identity_same_stream() {
        let a = Seeds::derive("zlib", "1.3", 0, "build")
            .secure_rng()
            .next_u64();
        let b = Seeds::derive("zlib", "1.3", 0, "build")
            .secure_rng()
            .next_u64();
        let c = Seeds::derive("zlib", "1.3", 0, "configure")
            .secure_rng()
            .next_u64();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn field_boundaries_matter() {
        // "ab"+"c" and "a"+"bc" must not collide.
        let a = Seeds::derive("ab", "c", 0, "build").secure;
        let b = Seeds::derive("a", "bc", 0, "build").secure;
        assert_ne!(a, b);
    }

    #[test]
    fn monotonic_clock_steps() {
        let c = SteppingClock::default();
        assert_eq!(c.now(), 1_000);
        assert_eq!(c.now(), 2_000);
    }
}
