//! A node's clock: how its readings relate to the world's virtual time.
//!
//! Each node reads a clock of its own. It runs at a rate a few parts per
//! million (ppm) off virtual time (drift), and the rate may change at a
//! moment the world picks: the clock is then re-anchored there, so its
//! readings stay continuous and never go backwards. The lease and the vote
//! guard are correct only within a drift bound, which is why the world,
//! chaos and the explorer all read time through this one conversion.
//!
//! Owns the conversion both ways; knows nothing of nodes or events.

use crate::raft::Time;

/// One node's clock: from `anchor` (virtual time, reading) on it reads
/// `reading + (t - virtual) * (1e6 + ppm) / 1e6`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DriftClock {
    anchor: (Time, Time),
    ppm: i64,
}

impl DriftClock {
    /// A clock reading 0 at virtual time 0, `ppm` off virtual time.
    pub fn new(ppm: i64) -> DriftClock {
        DriftClock {
            anchor: (0, 0),
            ppm,
        }
    }

    /// Its rate, in parts per million off virtual time.
    pub fn ppm(&self) -> i64 {
        self.ppm
    }

    /// From virtual time `now` on, the clock runs `ppm` off virtual time.
    pub fn set_rate(&mut self, now: Time, ppm: i64) {
        assert!(ppm > -1_000_000, "a clock must move forward");
        self.anchor = (now, self.reading(now));
        self.ppm = ppm;
    }

    /// The clock's reading at virtual time `t` (the anchor's reading for a
    /// `t` before it: a clock reads nothing earlier than its last change).
    pub fn reading(&self, t: Time) -> Time {
        let (at, read) = self.anchor;
        let since = t.saturating_sub(at) as i128;
        (read as i128 + since + since * self.ppm as i128 / 1_000_000) as Time
    }

    /// The first virtual time at which the clock reads `local` or more (the
    /// anchor for a reading before it; `Time::MAX` for never).
    pub fn virtual_time(&self, local: Time) -> Time {
        let (at, read) = self.anchor;
        if local == Time::MAX {
            return Time::MAX;
        }
        if local <= read {
            return at;
        }
        let rate = 1_000_000 + self.ppm as i128;
        let since = ((local - read) as i128 * 1_000_000 + rate - 1) / rate;
        let mut t = (at as i128 + since).min(Time::MAX as i128) as Time;
        while self.reading(t) < local {
            t += 1;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_reads_ahead_and_converts_back() {
        let c = DriftClock::new(50_000);
        assert_eq!(c.reading(1_000_000), 1_050_000);
        assert_eq!(c.virtual_time(1_050_000), 1_000_000);
        assert!(c.reading(c.virtual_time(777)) >= 777);
        assert!(c.reading(c.virtual_time(777) - 1) < 777);
    }

    #[test]
    fn a_rate_change_keeps_the_reading_continuous() {
        let mut c = DriftClock::new(-100_000);
        assert_eq!(c.reading(1_000_000), 900_000);
        c.set_rate(1_000_000, 100_000);
        assert_eq!(c.reading(1_000_000), 900_000);
        assert_eq!(c.reading(2_000_000), 2_000_000);
        assert_eq!(c.virtual_time(2_000_000), 2_000_000);
        // Readings before the change map to the change.
        assert_eq!(c.virtual_time(500_000), 1_000_000);
    }
}
