//! What a leader knows of one follower (etcd's `Progress`): next and match
//! index, when it last sent, what is in flight and the freshest stamp the
//! follower acknowledged.
//!
//! Volatile leader state, rebuilt on every election. It decides nothing; the
//! leader's replication policy in [`super::Node`] reads and updates it.
//!
//! Invariant: `match_index < next_index` (etcd's "0 <= Match < Next"): every
//! method that moves either keeps the next entry to send after what is
//! known to match (checked in debug builds).

use super::{Index, Time};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Progress {
    /// Index of the next entry to send (Figure 2's nextIndex).
    pub next_index: Index,
    /// Highest index known to be replicated on the follower (matchIndex).
    pub match_index: Index,
    /// When the last AppendEntries went to this follower (heartbeat timer).
    pub last_sent: Option<Time>,
    /// When unacknowledged entries were first sent, if any are in flight.
    pub inflight_since: Option<Time>,
    /// The leader's stamp on the newest AppendEntries this follower answered.
    pub acked_stamp: Option<Time>,
    /// The stamp of the AppendEntries sent in answer to the last rejection:
    /// rejections of older ones (stale, duplicated, reordered) are ignored,
    /// so that each costs no resend.
    pub probe_stamp: Option<Time>,
    /// How long to wait for an acknowledgement before sending again: the
    /// retry timeout, doubled on each unanswered retry up to a cap, so that
    /// a follower that is down or cut off is not flooded.
    pub backoff: Time,
}

impl Progress {
    pub fn new(last_index: Index, retry: Time) -> Self {
        Progress {
            next_index: last_index + 1,
            match_index: 0,
            last_sent: None,
            inflight_since: None,
            acked_stamp: None,
            probe_stamp: None,
            backoff: retry,
        }
    }

    /// Records a send of entries up to `last_sent_index` (pipelined: the next
    /// send continues after them).
    pub fn sent(&mut self, now: Time, last_sent_index: Index) {
        self.last_sent = Some(now);
        if last_sent_index >= self.next_index {
            self.next_index = last_sent_index + 1;
            self.inflight_since.get_or_insert(now);
        }
        self.keeps_invariant();
    }

    /// A successful AppendEntries response. Returns whether match advanced.
    pub fn acknowledged(&mut self, index: Index, stamp: Time, retry: Time) -> bool {
        self.backoff = retry;
        self.acked_stamp = self.acked_stamp.max(Some(stamp));
        let advanced = index > self.match_index;
        self.match_index = self.match_index.max(index);
        self.next_index = self.next_index.max(self.match_index + 1);
        if self.match_index + 1 >= self.next_index {
            self.inflight_since = None;
        }
        self.keeps_invariant();
        advanced
    }

    /// A rejection, at `now`, of the AppendEntries stamped `stamp`: back up
    /// to `next` (never below what is known to match). Returns whether to
    /// send again now: not for a rejection of an AppendEntries older than
    /// the one sent after the last rejection acted on (raft-rs's
    /// `maybe_decr_to` does the same).
    pub fn rejected(&mut self, next: Index, stamp: Time, now: Time) -> bool {
        self.acked_stamp = self.acked_stamp.max(Some(stamp));
        if self.probe_stamp.is_some_and(|probe| stamp < probe) {
            return false;
        }
        self.next_index = next.max(self.match_index + 1);
        self.inflight_since = None;
        self.probe_stamp = Some(now);
        self.keeps_invariant();
        true
    }

    /// In-flight entries unanswered for the backoff: send them again, and
    /// wait twice as long next time (at most `cap`).
    pub fn rewind_if_stale(&mut self, now: Time, cap: Time) {
        if self.inflight_since.is_some_and(|t| now >= t + self.backoff) {
            self.next_index = self.match_index + 1;
            self.inflight_since = None;
            self.backoff = (self.backoff * 2).min(cap.max(self.backoff));
        }
    }

    fn keeps_invariant(&self) {
        debug_assert!(
            self.match_index < self.next_index,
            "match index {} not below next index {}",
            self.match_index,
            self.next_index
        );
    }

    /// When in-flight entries are due to be sent again, if any are.
    pub fn retry_at(&self) -> Option<Time> {
        self.inflight_since.map(|t| t + self.backoff)
    }

    /// Whether an AppendEntries went to this follower within `window` of
    /// `now`.
    pub fn sent_within(&self, now: Time, window: Time) -> bool {
        self.last_sent.is_some_and(|t| now < t + window)
    }

    /// Whether this follower answered an AppendEntries sent within
    /// `window` of `now` (a dead or cut-off one has not).
    pub fn answering(&self, now: Time, window: Time) -> bool {
        self.acked_stamp.is_some_and(|t| now < t + window)
    }

    pub fn has_unsent(&self, last_index: Index) -> bool {
        self.next_index <= last_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_then_acknowledges() {
        let mut p = Progress::new(4, 10);
        assert_eq!(p.next_index, 5);
        p.sent(10, 6);
        assert_eq!((p.next_index, p.inflight_since), (7, Some(10)));
        assert!(p.acknowledged(6, 10, 10));
        assert_eq!((p.match_index, p.inflight_since), (6, None));
        assert!(!p.acknowledged(5, 8, 10), "a stale ack does not go back");
        assert_eq!(p.acked_stamp, Some(10));
    }

    #[test]
    fn rejection_and_staleness_rewind_with_backoff() {
        let mut p = Progress::new(9, 10);
        p.acknowledged(3, 1, 10);
        p.rejected(2, 2, 3);
        assert_eq!(p.next_index, 4, "never below match + 1");
        p.sent(5, 9);
        p.rewind_if_stale(6, 100);
        assert_eq!(p.next_index, 10);
        p.rewind_if_stale(15, 100);
        assert_eq!((p.next_index, p.backoff), (4, 20));
        p.sent(15, 9);
        p.rewind_if_stale(34, 100);
        assert_eq!(p.next_index, 10, "waits the doubled backoff");
        p.rewind_if_stale(35, 100);
        assert_eq!((p.next_index, p.backoff), (4, 40));
        p.acknowledged(9, 35, 10);
        assert_eq!(p.backoff, 10);
    }
}
