//! Retry delays: exponential in the number of consecutive failures, capped, with jitter so
//! that many operations failing together do not retry together.

use std::time::Duration;

use rand::RngExt;

/// Delay before retry number `failures + 1`: `base × 2^failures`, capped at `max`, then scaled
/// by a random factor in [0.5, 1.0).
pub fn delay(failures: i32, base: Duration, max: Duration) -> Duration {
    let exponent = failures.clamp(0, 20) as u32;
    let raw = base.saturating_mul(1u32 << exponent).min(max);
    raw.mul_f64(rand::rng().random_range(0.5..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_with_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for failures in 0..10 {
            let d = delay(failures, base, max);
            let ceiling = (base * 2u32.pow(failures as u32)).min(max);
            assert!(d < ceiling && d >= ceiling / 2, "{failures}: {d:?}");
        }
        assert!(delay(1000, base, max) <= max);
    }
}
