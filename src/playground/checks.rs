//! The playground's safety lights and its client history.
//!
//! Owns the history of the page's client (every operation from its first
//! send to its `ok`, over all the MIDs a redirect took) and the lights the
//! page shows: Election Safety, Log Matching, Leader Completeness, State
//! Machine Safety (from the cluster's invariant checks), Linearizability
//! (from the history), and one for the simulator's further checks. Knows
//! nothing of drawing.

use crate::kv::Op;
use crate::raft::NodeId;
use crate::raft::time::{self, Time};
use crate::sim::Violation;
use crate::sim::invariants::Property;
use crate::sim::linearizability::{self, Operation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lights, in the order the page shows them.
pub const LIGHTS: [&str; 6] = [
    Property::ElectionSafety.name(),
    Property::LogMatching.name(),
    Property::LeaderCompleteness.name(),
    Property::StateMachineSafety.name(),
    Property::Linearizability.name(),
    "More checks",
];

/// The most operations the history lane is sent per frame.
pub const LANE_OPS: usize = 150;
/// The lane does not look back for open operations further than this.
pub const LANE_LOOKBACK: Time = 60 * time::SECOND;

/// One light as the page draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LightView {
    pub name: String,
    pub ok: bool,
    /// What broke, in one sentence (red lights only).
    pub text: Option<String>,
    /// When it broke, ms.
    pub at_ms: Option<f64>,
    /// The nodes the sentence names.
    pub nodes: Vec<NodeId>,
}

/// One operation of the page's client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryOp {
    pub key: String,
    /// The value a put writes.
    pub put: Option<String>,
    pub invoke_ms: f64,
    /// When its `ok` arrived; `None` while unanswered.
    pub response_ms: Option<f64>,
    /// What a get returned.
    pub result: Option<String>,
    /// Who answered it.
    pub answered_by: Option<NodeId>,
    /// One of the smallest set of operations that cannot be ordered, once
    /// the history has no linearization.
    pub unorderable: bool,
}

/// The client's operations and the Linearizability verdict.
#[derive(Default)]
pub struct History {
    ops: Vec<HistoryOp>,
    invoked: Vec<Time>,
    responded: Vec<Option<Time>>,
    /// The operation each MID in flight belongs to.
    by_mid: BTreeMap<String, usize>,
    /// Each key's operations, so that an answer checks only its key.
    by_key: BTreeMap<String, Vec<usize>>,
    broken: Option<Broken>,
}

/// The first moment the history had no linearization.
#[derive(Clone, Debug)]
struct Broken {
    at: Time,
    key: String,
    /// Why, from the smallest set of operations that cannot be ordered.
    why: String,
}

impl History {
    /// A new operation, sent now under `mid`.
    pub fn invoked(&mut self, now: Time, mid: &str, op: &Op) {
        let (key, put) = match op {
            Op::Get { key } => (key.clone(), None),
            Op::Put { key, value } => (key.clone(), Some(value.clone())),
        };
        self.by_mid.insert(mid.to_string(), self.ops.len());
        self.by_key
            .entry(key.clone())
            .or_default()
            .push(self.ops.len());
        self.ops.push(HistoryOp {
            key,
            put,
            invoke_ms: time::as_millis(now),
            response_ms: None,
            result: None,
            answered_by: None,
            unorderable: false,
        });
        self.invoked.push(now);
        self.responded.push(None);
    }

    /// The operation of `old` is sent again under `new` (a redirect).
    pub fn resent(&mut self, old: &str, new: &str) {
        if let Some(&i) = self.by_mid.get(old) {
            self.by_mid.insert(new.to_string(), i);
        }
    }

    /// The operation sent as `mid`, if known.
    pub fn op_of(&self, mid: &str) -> Option<Op> {
        let op = &self.ops[*self.by_mid.get(mid)?];
        Some(Op::on(&op.key, op.put.as_ref()))
    }

    /// `ok` for `mid` from `from`; checks the key's history again.
    pub fn answered(&mut self, now: Time, mid: &str, from: NodeId, value: Option<String>) {
        let Some(&i) = self.by_mid.get(mid) else {
            return;
        };
        if self.responded[i].is_some() {
            return;
        }
        self.responded[i] = Some(now);
        let op = &mut self.ops[i];
        op.response_ms = Some(time::as_millis(now));
        op.answered_by = Some(from);
        if op.put.is_none() {
            op.result = Some(value.unwrap_or_default());
        }
        let key = op.key.clone();
        if self.broken.is_none() {
            self.check_key(now, key);
        }
    }

    /// Checks `key`'s history; if it has no linearization, finds the
    /// smallest set of its operations that cannot be ordered, marks them
    /// and says why.
    fn check_key(&mut self, now: Time, key: String) {
        let (indices, ops) = self.operations_on(&key);
        if linearizability::check(&ops).is_ok() {
            return;
        }
        let set = linearizability::unorderable(&ops);
        for &i in &set {
            self.ops[indices[i]].unorderable = true;
        }
        let culprits: Vec<&Operation> = set.iter().map(|&i| &ops[i]).collect();
        let why = linearizability::why_unorderable(&culprits);
        self.broken = Some(Broken { at: now, key, why });
    }

    /// The operations on `key` that tell something (not unanswered gets),
    /// with their indices in `ops`.
    fn operations_on(&self, key: &str) -> (Vec<usize>, Vec<Operation>) {
        let indices = self.by_key.get(key).map_or(&[][..], Vec::as_slice);
        indices
            .iter()
            .filter_map(|&i| {
                let o = &self.ops[i];
                let invoke = self.invoked[i];
                let op = Operation::of(
                    &o.key,
                    o.put.as_ref(),
                    invoke,
                    self.responded[i],
                    o.result.as_ref(),
                )?;
                Some((i, op))
            })
            .unzip()
    }

    pub fn ops(&self) -> &[HistoryOp] {
        &self.ops
    }

    /// The operations still open at `since`, or invoked after it: what a
    /// window of the timeline from `since` shows. At most the latest
    /// [`LANE_OPS`] (a lane a few hundred pixels wide shows no more), and
    /// none invoked more than [`LANE_LOOKBACK`] before `since`, so that a
    /// frame's cost does not grow with the run.
    pub fn since(&self, since: Time) -> Vec<HistoryOp> {
        let oldest = since.saturating_sub(LANE_LOOKBACK);
        let mut shown: Vec<HistoryOp> = (0..self.ops.len())
            .rev()
            .take_while(|&i| self.invoked[i] >= oldest)
            .filter(|&i| self.responded[i].is_none_or(|r| r >= since))
            .take(LANE_OPS)
            .map(|i| self.ops[i].clone())
            .collect();
        shown.reverse();
        shown
    }

    /// The key whose history has no linearization, if one.
    pub fn broken_key(&self) -> Option<String> {
        self.broken.as_ref().map(|b| b.key.clone())
    }

    /// The first time the history had no linearization, and why (from the
    /// smallest set of operations that cannot be ordered).
    pub fn broken(&self) -> Option<(Time, &str)> {
        self.broken.as_ref().map(|b| (b.at, b.why.as_str()))
    }
}

/// The nodes a sentence names (`S3` is node 2), in order, once each.
fn named_nodes(text: &str) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('S') {
        let digits: String = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| b as char)
            .collect();
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if let (true, Ok(n)) = (before_ok, digits.parse::<NodeId>())
            && n >= 1
            && !nodes.contains(&(n - 1))
        {
            nodes.push(n - 1);
        }
    }
    nodes
}

/// The lights, from the first violation of each of the cluster's checks
/// and the history's verdict.
pub fn lights(violations: &[Violation], history: &History) -> Vec<LightView> {
    let mut lights: Vec<LightView> = LIGHTS
        .iter()
        .map(|name| LightView {
            name: name.to_string(),
            ok: true,
            text: None,
            at_ms: None,
            nodes: Vec::new(),
        })
        .collect();
    for v in violations {
        let i = LIGHTS.iter().position(|&l| l == v.check());
        let i = i.unwrap_or(LIGHTS.len() - 1);
        let light = &mut lights[i];
        if !light.ok {
            continue; // "More checks": the first of them
        }
        light.ok = false;
        // The last light stands for every other check: it says which.
        let other = i == LIGHTS.len() - 1;
        light.text = Some(if other {
            v.what()
        } else {
            v.detail().to_string()
        });
        light.at_ms = Some(time::as_millis(v.at));
        light.nodes = named_nodes(v.detail());
    }
    if let Some((at, why)) = history.broken() {
        let light = &mut lights[4];
        light.ok = false;
        light.text = Some(format!("the client's history cannot be ordered: {why}"));
        light.at_ms = Some(time::as_millis(at));
    }
    lights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_lights_its_check_and_names_its_nodes() {
        let v = |property, detail: &str| Violation {
            at: 1_000_000,
            event: 9,
            property,
            detail: detail.into(),
        };
        let text = v(Property::LogMatching, "S2 and S14 differ at index 7");
        let l = lights(std::slice::from_ref(&text), &History::default());
        assert!(!l[1].ok && l.iter().filter(|l| !l.ok).count() == 1);
        assert_eq!(l[1].text.as_deref(), Some("S2 and S14 differ at index 7"));
        assert_eq!(l[1].nodes, vec![1, 13]);
        let other = v(Property::LeaseExclusion, "S1 serves while S3 leads");
        let l = lights(&[other, text], &History::default());
        assert!(!l[5].ok && !l[1].ok, "each check's light");
        assert!(l[5].text.as_deref().unwrap().starts_with("Lease Exclusion"));
    }

    #[test]
    fn a_stale_get_breaks_linearizability() {
        let mut h = History::default();
        let put = |v: &str| Op::Put {
            key: "x".into(),
            value: v.into(),
        };
        h.invoked(0, "M1", &put("1"));
        h.answered(10, "M1", 0, None);
        h.invoked(20, "M2", &put("2"));
        h.answered(30, "M2", 0, None);
        h.invoked(40, "M3", &Op::Get { key: "x".into() });
        h.answered(50, "M3", 1, Some("1".into()));
        let (_, why) = h.broken().unwrap();
        assert!(why.starts_with("get x returned \"1\""), "{why}");
        assert!(!lights(&[], &h)[4].ok);
        assert_eq!(h.broken_key().as_deref(), Some("x"));
        let marked: Vec<bool> = h.ops().iter().map(|o| o.unorderable).collect();
        assert_eq!(marked, [true, true, true], "put 1, put 2 and the stale get");
    }
}
