//! Pacing of a replica's outgoing datagrams: at most [`Pacer::PER_MS`]
//! leave in any millisecond window, in the order they were written.
//!
//! Why: the course's grader reads each replica's socket in one loop. A burst
//! (a new leader answering a backlog of a hundred clients at once, followers
//! redirecting every request they held) fills that socket's receive buffer
//! faster than the grader drains it, and the kernel drops the rest: answers
//! to clients among them, which then never arrive although their puts
//! committed. `gradesim udp` reports such drops; the simulator models the
//! buffer ([`crate::sim::ClusterOptions::grader_socket`]).
//!
//! Owns only the arithmetic of departure times; the replica's event loop
//! (`3700kvstore`) and the simulator both use it. Order is
//! kept, so an answer still leaves before the AppendEntries that tells
//! followers its entry committed.

use crate::raft::Time;

const WINDOW: Time = 1_000;
/// A datagram never waits much longer than this: a sender that keeps above
/// the pace for long would otherwise queue without bound. Past it, datagrams
/// leave together with the last one queued (and may be dropped by a full
/// receiver, which Raft's retries cover better than an ever longer delay).
pub const MAX_WAIT: Time = 20_000;

#[derive(Clone, Debug, Default)]
pub struct Pacer {
    /// The current window's start, and the departures left in it.
    window: Option<Time>,
    left: usize,
    /// The latest departure handed out (departures never go back).
    last: Time,
}

impl Pacer {
    /// Datagrams per millisecond window.
    pub const PER_MS: usize = 16;

    /// Reserves the departure time of a datagram written at `now`, behind
    /// every datagram written before it.
    pub fn reserve(&mut self, now: Time) -> Time {
        if self.last > now + MAX_WAIT {
            // Behind the datagrams already waiting (order is kept), but no
            // later.
            return self.last;
        }
        let mut t = now.max(self.last);
        let ended = self.window.is_none_or(|w| t >= w + WINDOW);
        if ended {
            self.window = Some(t);
            self.left = Self::PER_MS;
        }
        if self.left == 0 {
            t = self.window.map_or(t, |w| w + WINDOW);
            self.window = Some(t);
            self.left = Self::PER_MS;
        }
        self.left -= 1;
        self.last = t;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spread_over_windows_in_order() {
        let mut p = Pacer::default();
        let times: Vec<Time> = (0..100).map(|_| p.reserve(5_000)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order");
        let per = Pacer::PER_MS;
        assert_eq!(times[per - 1], 5_000);
        assert_eq!(times[per], 6_000);
        assert_eq!(times[99], 5_000 + 1_000 * (99 / per as Time));
        assert_eq!(p.reserve(20_000), 20_000, "a quiet sender goes at once");
    }

    #[test]
    fn no_datagram_waits_beyond_the_bound() {
        let mut p = Pacer::default();
        let waits = (0..10_000).map(|_| p.reserve(0));
        assert!(waits.max().unwrap() <= MAX_WAIT + WINDOW);
    }
}
