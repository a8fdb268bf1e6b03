//! What a leader knows of one follower (etcd's `Progress`): next and match
//! index, when it last sent, what is in flight and the freshest stamp the
//! follower acknowledged.
//!
//! Volatile leader state, rebuilt on every election. It decides nothing; the
//! leader's replication policy in [`super::Node`] reads and updates it.

use super::{Index, Time};

#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl Progress {
    pub fn new(last_index: Index) -> Self {
        Progress {
            next_index: last_index + 1,
            match_index: 0,
            last_sent: None,
            inflight_since: None,
            acked_stamp: None,
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
    }

    /// A successful AppendEntries response. Returns whether match advanced.
    pub fn acknowledged(&mut self, index: Index, stamp: Time) -> bool {
        self.acked_stamp = self.acked_stamp.max(Some(stamp));
        let advanced = index > self.match_index;
        self.match_index = self.match_index.max(index);
        self.next_index = self.next_index.max(self.match_index + 1);
        if self.match_index + 1 >= self.next_index {
            self.inflight_since = None;
        }
        advanced
    }

    /// A rejection: back up to `next` (never below what is known to match).
    pub fn rejected(&mut self, next: Index, stamp: Time) {
        self.acked_stamp = self.acked_stamp.max(Some(stamp));
        self.next_index = next.max(self.match_index + 1);
        self.inflight_since = None;
    }

    /// In-flight entries unanswered for `timeout`: send them again.
    pub fn rewind_if_stale(&mut self, now: Time, timeout: Time) {
        if self.inflight_since.is_some_and(|t| now >= t + timeout) {
            self.next_index = self.match_index + 1;
            self.inflight_since = None;
        }
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
        let mut p = Progress::new(4);
        assert_eq!(p.next_index, 5);
        p.sent(10, 6);
        assert_eq!((p.next_index, p.inflight_since), (7, Some(10)));
        assert!(p.acknowledged(6, 10));
        assert_eq!((p.match_index, p.inflight_since), (6, None));
        assert!(!p.acknowledged(5, 8), "a stale ack does not go back");
        assert_eq!(p.acked_stamp, Some(10));
    }

    #[test]
    fn rejection_and_staleness_rewind() {
        let mut p = Progress::new(9);
        p.acknowledged(3, 1);
        p.rejected(2, 2);
        assert_eq!(p.next_index, 4, "never below match + 1");
        p.sent(5, 9);
        p.rewind_if_stale(6, 10);
        assert_eq!(p.next_index, 10);
        p.rewind_if_stale(15, 10);
        assert_eq!(p.next_index, 4);
    }
}
