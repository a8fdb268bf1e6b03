//! Pacing of a replica's outgoing datagrams: a burst of up to
//! [`Pacer::BURST`] leaves at once, and beyond it at most [`Pacer::PER_MS`]
//! a millisecond, in the order they were written.
//!
//! Why: the course's grader reads every replica's socket in one Python
//! loop, one datagram per ready socket per pass, about 20 datagrams a
//! millisecond in all (docs/measurements.md, "The course's router,
//! calibrated"): with five replicas sending, each socket is drained at about
//! 4 a millisecond. A burst (a new leader answering a backlog of a hundred
//! clients at once, followers redirecting every request they held) fills
//! that socket's receive buffer faster than the grader drains it, and the
//! kernel drops the rest: answers to clients among them, which then never
//! arrive although their puts committed. The burst allowance keeps the
//! ordinary round of a put (AppendEntries to the followers, then the answer)
//! free of any wait. `gradesim udp` reports such drops; the simulator models
//! the buffer ([`crate::sim::ClusterOptions::grader_socket`]).
//!
//! Owns only the arithmetic of departure times; the replica's event loop
//! (`3700kvstore`) and the simulator both use it. Order is kept, so an
//! answer still leaves before the AppendEntries that tells followers its
//! entry committed.

use crate::raft::Time;

/// A datagram never waits much longer than this: a sender that keeps above
/// the pace for long would otherwise queue without bound. Past it, datagrams
/// leave together with the last one queued (and may be dropped by a full
/// receiver, which Raft's retries cover better than an ever longer delay).
pub const MAX_WAIT: Time = 150_000;

/// A token bucket kept as its "theoretical arrival time" (the generic cell
/// rate algorithm): `due` is when the bucket would next be empty again if
/// nothing more were sent.
#[derive(Clone, Debug, Default)]
pub struct Pacer {
    due: Time,
    /// The latest departure handed out (departures never go back).
    last: Time,
}

impl Pacer {
    /// Datagrams per millisecond once a burst is spent.
    pub const PER_MS: Time = 2;
    /// Datagrams that may leave at once.
    pub const BURST: Time = 32;
    const INTERVAL: Time = 1_000 / Self::PER_MS;

    /// Reserves the departure time of a datagram written at `now`, behind
    /// every datagram written before it.
    pub fn reserve(&mut self, now: Time) -> Time {
        let tolerance = (Self::BURST - 1) * Self::INTERVAL;
        let t = now.max(self.due.saturating_sub(tolerance)).max(self.last);
        if t > now + MAX_WAIT {
            // Behind the datagrams already waiting (order is kept), but no
            // later.
            return self.last;
        }
        self.due = self.due.max(now) + Self::INTERVAL;
        self.last = t;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_at_the_pace_in_order() {
        let mut p = Pacer::default();
        let times: Vec<Time> = (0..100).map(|_| p.reserve(5_000)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order");
        let burst = Pacer::BURST as usize;
        assert!(times[..burst].iter().all(|&t| t == 5_000), "{times:?}");
        let gap = 1_000 / Pacer::PER_MS;
        assert_eq!(times[burst], 5_000 + gap);
        assert_eq!(times[99], 5_000 + gap * (100 - Pacer::BURST));
        assert_eq!(p.reserve(100_000), 100_000, "a quiet sender goes at once");
    }

    #[test]
    fn a_steady_sender_below_the_pace_never_waits() {
        let mut p = Pacer::default();
        let gap = 1_000 / Pacer::PER_MS;
        for i in 0..1_000 {
            let now = 1_000 + i * gap;
            assert_eq!(p.reserve(now), now);
        }
    }

    #[test]
    fn no_datagram_waits_beyond_the_bound() {
        let mut p = Pacer::default();
        let waits = (0..10_000).map(|_| p.reserve(0));
        assert!(waits.max().unwrap() <= MAX_WAIT);
    }
}
