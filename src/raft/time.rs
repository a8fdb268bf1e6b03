//! Time as the core counts it: whole microseconds on the caller's clock
//! (virtual in the simulator, monotonic in the replica). The core never
//! reads a clock; callers pass `now` in.
//!
//! The conversions to and from seconds and milliseconds live here once, so
//! that every caller (grader, playground, trace) rounds the same way.

/// Microseconds on the caller's clock.
pub type Time = u64;

pub const MICROSECOND: Time = 1;
pub const MILLISECOND: Time = 1_000;
pub const SECOND: Time = 1_000_000;

/// `seconds` as a time, rounded to the microsecond (negative: 0).
pub fn from_secs(seconds: f64) -> Time {
    (seconds * SECOND as f64).round().max(0.0) as Time
}

/// `ms` milliseconds as a time, rounded to the microsecond (negative: 0).
pub fn from_millis(ms: f64) -> Time {
    (ms * MILLISECOND as f64).round().max(0.0) as Time
}

pub fn as_secs(t: Time) -> f64 {
    t as f64 / SECOND as f64
}

pub fn as_millis(t: Time) -> f64 {
    t as f64 / MILLISECOND as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(from_secs(1.5), 1_500_000);
        assert_eq!(from_millis(0.0004), 0);
        assert_eq!(from_millis(-3.0), 0);
        assert_eq!(as_millis(from_millis(2.5)), 2.5);
        assert_eq!(as_secs(SECOND), 1.0);
    }
}
