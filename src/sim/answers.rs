//! What the replicas answered each request id (MID), checked against what
//! the stores applied. The linearizability check sees operations; this sees
//! request ids, so it catches what that one cannot: a MID applied after its
//! client was told `redirect` or `fail` (the client has re-sent it under a
//! new MID, so it may apply twice), one operation applied under two MIDs, an
//! `ok` put never applied, and a committed put never acknowledged.
//!
//! Owns the ledger only; the driver (the grader's workload, the chaos
//! clients) records each request it sends and each answer it receives, and
//! passes the most advanced store at the end.

use crate::kv::{ClientId, Reply, Store};
use crate::raft::Time;
use crate::sim::invariants::{Breach, Property};
use std::collections::BTreeMap;

/// One MID: what it carried, when it was sent, how it was answered.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// The logical operation this MID carries (several MIDs may carry one).
    pub op: usize,
    pub put: bool,
    pub sent: Time,
    /// `ok` answers received.
    pub oks: u32,
    /// The first `redirect` or `fail`, if any.
    pub refused: Option<&'static str>,
}

impl Record {
    pub fn answered(&self) -> bool {
        self.oks > 0 || self.refused.is_some()
    }
}

/// Every MID sent, and how it was answered.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    mids: BTreeMap<(ClientId, String), Record>,
}

impl Ledger {
    /// A request sent at `sent` for operation `op`.
    pub fn issued(&mut self, client: ClientId, mid: &str, op: usize, put: bool, sent: Time) {
        let record = Record {
            op,
            put,
            sent,
            ..Record::default()
        };
        self.mids.insert((client, mid.to_string()), record);
    }

    /// The record of a MID, if it was issued.
    pub fn record(&self, client: ClientId, mid: &str) -> Option<&Record> {
        self.mids.get(&(client, mid.to_string()))
    }

    /// An answer reached the client (awaited or not). Returns the MID's
    /// record as it was before this answer, if the MID was issued.
    pub fn answered(&mut self, client: ClientId, mid: &str, reply: &Reply) -> Option<Record> {
        let r = self.mids.get_mut(&(client, mid.to_string()))?;
        let before = r.clone();
        match reply {
            Reply::Ok { .. } => r.oks += 1,
            Reply::Redirect => r.refused = r.refused.or(Some("redirect")),
            Reply::Fail => r.refused = r.refused.or(Some("fail")),
        }
        Some(before)
    }

    /// The first MID sent within `[from, until]` that got no answer at all.
    pub fn unanswered_between(&self, from: Time, until: Time) -> Option<(&str, Time)> {
        self.mids
            .iter()
            .find(|(_, r)| (from..=until).contains(&r.sent) && !r.answered())
            .map(|((_, mid), r)| (mid.as_str(), r.sent))
    }

    /// Checks every MID against `store`, the store that applied the most
    /// entries (by State Machine Safety the others applied a prefix of it).
    /// `settled`: the run ended quietly enough that every committed put had
    /// time to be answered.
    pub fn check(&self, store: &Store, settled: bool) -> Result<(), Breach> {
        let mut applied_ops: BTreeMap<usize, &str> = BTreeMap::new();
        for ((client, mid), r) in &self.mids {
            let applied = r.put && store.is_applied(*client, mid);
            if applied && let Some(refusal) = r.refused {
                return Err(Breach::new(
                    Property::ClientAnswers,
                    format!("MID {mid} of client {client} was applied after the answer {refusal}"),
                ));
            }
            if applied && let Some(other) = applied_ops.insert(r.op, mid) {
                return Err(Breach::new(
                    Property::ClientAnswers,
                    format!(
                        "one operation of client {client} was applied twice, as MIDs {other} and {mid}"
                    ),
                ));
            }
            if r.put && r.oks > 0 && !applied {
                return Err(Breach::new(
                    Property::ClientAnswers,
                    format!("put MID {mid} of client {client} was acknowledged but never applied"),
                ));
            }
            if settled && applied && r.oks == 0 {
                return Err(Breach::new(
                    Property::AcknowledgedPuts,
                    format!("put MID {mid} of client {client} was applied but never acknowledged"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Put;
    use crate::raft::StateMachine;

    fn store_with(client: ClientId, mids: &[&str]) -> Store {
        let mut s = Store::default();
        for mid in mids {
            s.apply(&Put {
                client,
                mid: mid.to_string(),
                key: "k".into(),
                value: mid.to_string(),
            });
        }
        s
    }

    #[test]
    fn each_kind_of_wrong_answer_is_caught() {
        let ok = Reply::Ok { value: None };
        let mut l = Ledger::default();
        l.issued(1, "a", 0, true, 0);
        l.answered(1, "a", &Reply::Redirect);
        let e = l.check(&store_with(1, &["a"]), false).unwrap_err();
        assert_eq!(e.property, Property::ClientAnswers);
        assert!(e.detail.contains("after the answer redirect"), "{e}");

        let mut l = Ledger::default();
        l.issued(1, "a", 0, true, 0);
        l.issued(1, "b", 0, true, 0);
        l.answered(1, "b", &ok);
        let e = l.check(&store_with(1, &["a", "b"]), false).unwrap_err();
        assert!(e.detail.contains("applied twice"), "{e}");

        let mut l = Ledger::default();
        l.issued(1, "a", 0, true, 0);
        l.answered(1, "a", &ok);
        let e = l.check(&store_with(1, &[]), false).unwrap_err();
        assert!(e.detail.contains("never applied"), "{e}");

        let mut l = Ledger::default();
        l.issued(1, "a", 0, true, 0);
        assert_eq!(l.check(&store_with(1, &["a"]), false), Ok(()));
        let e = l.check(&store_with(1, &["a"]), true).unwrap_err();
        assert_eq!(e.property, Property::AcknowledgedPuts);
        assert!(e.detail.contains("never acknowledged"), "{e}");
        l.answered(1, "a", &ok);
        assert_eq!(l.check(&store_with(1, &["a"]), true), Ok(()));
    }
}
