//! A linearizability checker for a key-value history, one key at a time:
//! linearizability is local, so a history is linearizable when each key's is.
//!
//! When every put of a key writes a distinct value (the grader's and the
//! chaos clients' workloads), each get names the put it read, and the check
//! is Gibbons and Korach's zone test, in O(n log n): group each put with the
//! gets that returned its value (a *cluster*); a cluster whose earliest
//! response comes before its latest invocation must occupy that whole span
//! (a *forward zone*), otherwise it can sit at any one point of the span
//! between them (a *backward zone*). The history is linearizable exactly
//! when no get ends before its put begins, no two forward zones overlap, and
//! no backward zone lies inside a forward one. Otherwise (repeated values)
//! it falls back to a search (Wing & Gong, with the memoisation of Lowe's
//! refinement), which is exponential in the worst case.
//!
//! Operations that end at the very microsecond another begins are taken as
//! concurrent: either order is allowed.
//!
//! Owns only the checks. The history comes from whoever ran the clients.

use std::collections::{BTreeMap, HashSet};

/// One client operation on a key. A put that never got an answer may or may
/// not have taken effect: give it `response: None`. Unanswered gets carry no
/// information and should be left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub key: String,
    pub invoke: u64,
    pub response: Option<u64>,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Put(String),
    /// A get and the value it returned ("" for a key never put).
    Get(String),
}

impl Operation {
    /// A client operation as a history entry: a put (answered or not: an
    /// unanswered one may or may not have applied), or a get with the value
    /// it returned; `None` for a get never answered, which tells nothing.
    pub fn of(
        key: &str,
        put: Option<&String>,
        invoke: u64,
        response: Option<u64>,
        result: Option<&String>,
    ) -> Option<Operation> {
        let kind = match (put, result) {
            (Some(v), _) => Kind::Put(v.clone()),
            (None, Some(r)) => Kind::Get(r.clone()),
            (None, None) => return None,
        };
        Some(Operation {
            key: key.to_string(),
            invoke,
            response,
            kind,
        })
    }
}

/// Checks every key; on failure names the first key with no linearization.
pub fn check(history: &[Operation]) -> Result<(), String> {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in history {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, ops) in by_key {
        let verdict = match zones(&ops) {
            Some(verdict) => verdict,
            None if check_key(&ops) => Ok(()),
            None => Err("no order of them explains every get".to_string()),
        };
        if let Err(why) = verdict {
            return Err(format!(
                "the {} operations on key {key} have no linearization: {why}",
                ops.len()
            ));
        }
    }
    Ok(())
}

/// A put and the gets that read it.
struct Cluster {
    /// The earliest response and the latest invocation among them.
    first_response: u64,
    last_invoke: u64,
}

/// The zone test, or `None` if two puts write the same value.
fn zones(ops: &[&Operation]) -> Option<Result<(), String>> {
    // Times shift by one so that the initial value "" is written by a put
    // at 0, strictly before everything.
    let invoke = |op: &Operation| op.invoke + 1;
    let response = |op: &Operation| op.response.map_or(u64::MAX, |r| r + 1);
    let mut puts: BTreeMap<&str, (u64, u64)> = BTreeMap::from([("", (0, 0))]);
    for op in ops {
        if let Kind::Put(v) = &op.kind {
            let span = (invoke(op), response(op));
            if puts.insert(v.as_str(), span).is_some() {
                return None;
            }
        }
    }
    let mut clusters: BTreeMap<&str, Cluster> = BTreeMap::new();
    for op in ops {
        let (value, read) = match &op.kind {
            Kind::Put(v) => (v.as_str(), false),
            Kind::Get(v) => (v.as_str(), true),
        };
        let Some(&(put_invoke, put_response)) = puts.get(value) else {
            return Some(Err(format!("a get returned {value:?}, which no put wrote")));
        };
        let (op_invoke, response) = (invoke(op), response(op));
        if read && response < put_invoke {
            return Some(Err(format!(
                "a get returned {value:?} before the put of it began"
            )));
        }
        let c = clusters.entry(value).or_insert(Cluster {
            first_response: put_response,
            last_invoke: if value.is_empty() { 0 } else { put_invoke },
        });
        c.first_response = c.first_response.min(response);
        c.last_invoke = c.last_invoke.max(op_invoke);
    }
    // A put nobody read and nobody waited for may never have happened.
    let mut forward: Vec<(u64, u64, &str)> = Vec::new();
    let mut backward: Vec<(u64, u64, &str)> = Vec::new();
    for (value, c) in &clusters {
        if c.first_response < c.last_invoke {
            forward.push((c.first_response, c.last_invoke, value));
        } else if c.first_response != u64::MAX {
            backward.push((c.last_invoke, c.first_response, value));
        }
    }
    forward.sort_unstable();
    for pair in forward.windows(2) {
        let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
        if start < end {
            return Some(Err(format!(
                "the values {a:?} and {b:?} were each seen over overlapping spans"
            )));
        }
    }
    for (start, end, value) in backward {
        let inside = forward.partition_point(|z| z.0 < start);
        let Some(&(_, zone_end, other)) = inside.checked_sub(1).map(|i| &forward[i]) else {
            continue;
        };
        if end < zone_end {
            return Some(Err(format!(
                "{value:?} took effect while {other:?} was still being read"
            )));
        }
    }
    Some(Ok(()))
}

struct Search<'a> {
    ops: Vec<&'a Operation>,
    /// Operations with a response: the search ends when all are placed.
    required: usize,
    seen: HashSet<(Vec<u64>, Option<usize>)>,
}

fn check_key(ops: &[&Operation]) -> bool {
    let mut ops = ops.to_vec();
    ops.sort_by_key(|o| (o.invoke, o.response.unwrap_or(u64::MAX)));
    let required = ops.iter().filter(|o| o.response.is_some()).count();
    let mut search = Search {
        ops,
        required,
        seen: HashSet::new(),
    };
    let done = vec![0u64; search.ops.len().div_ceil(64)];
    search.explore(done, 0, None)
}

impl Search<'_> {
    /// `value`: index of the put whose value the key holds (None: never put).
    fn explore(&mut self, done: Vec<u64>, placed: usize, value: Option<usize>) -> bool {
        if placed == self.required {
            return true;
        }
        if !self.seen.insert((done.clone(), value)) {
            return false;
        }
        let is_done = |i: usize| done[i / 64] & (1 << (i % 64)) != 0;
        // Any operation invoked before every pending one has responded can
        // come next.
        let horizon = (0..self.ops.len())
            .filter(|&i| !is_done(i))
            .filter_map(|i| self.ops[i].response)
            .min()
            .unwrap_or(u64::MAX);
        for i in 0..self.ops.len() {
            if is_done(i) || self.ops[i].invoke > horizon {
                continue;
            }
            let next_value = match &self.ops[i].kind {
                Kind::Put(_) => Some(i),
                Kind::Get(v) => {
                    let current = value.map_or("", |p| match &self.ops[p].kind {
                        Kind::Put(x) => x.as_str(),
                        Kind::Get(_) => unreachable!("values come from puts"),
                    });
                    if v != current {
                        continue;
                    }
                    value
                }
            };
            let mut next = done.clone();
            next[i / 64] |= 1 << (i % 64);
            let counts = self.ops[i].response.is_some() as usize;
            if self.explore(next, placed + counts, next_value) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(invoke: u64, response: Option<u64>, kind: Kind) -> Operation {
        Operation {
            key: "k".into(),
            invoke,
            response,
            kind,
        }
    }
    fn put(v: &str) -> Kind {
        Kind::Put(v.into())
    }
    fn get(v: &str) -> Kind {
        Kind::Get(v.into())
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = [
            op(0, Some(1), get("")),
            op(2, Some(3), put("a")),
            op(4, Some(5), get("a")),
        ];
        assert_eq!(check(&h), Ok(()));
    }

    #[test]
    fn stale_read_after_completed_write_is_not() {
        let h = [op(0, Some(1), put("a")), op(2, Some(3), get(""))];
        assert!(check(&h).is_err());
    }

    #[test]
    fn concurrent_operations_may_order_either_way() {
        let h = [
            op(0, Some(10), put("a")),
            op(1, Some(2), get("a")),
            op(3, Some(4), get("a")),
        ];
        assert_eq!(check(&h), Ok(()));
        let h = [
            op(0, Some(10), put("a")),
            op(1, Some(2), get("a")),
            op(3, Some(4), get("")),
        ];
        assert!(check(&h).is_err(), "a value seen cannot be unseen");
    }

    /// The zone test and the search agree on every small history.
    #[test]
    fn zones_agree_with_the_search() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50_000 {
            let n = rng.random_range(1..=8);
            let mut h = Vec::new();
            let mut written = vec![String::new()];
            for i in 0..n {
                let invoke = rng.random_range(0..20);
                let response = rng
                    .random_bool(0.85)
                    .then(|| invoke + rng.random_range(0..8));
                let kind = if rng.random_bool(0.5) {
                    written.push(format!("v{i}"));
                    put(&format!("v{i}"))
                } else {
                    let v = written[rng.random_range(0..written.len())].clone();
                    get(&v)
                };
                if response.is_some() || matches!(kind, Kind::Put(_)) {
                    h.push(op(invoke, response, kind));
                }
            }
            let refs: Vec<&Operation> = h.iter().collect();
            let by_zones = zones(&refs).expect("unique values").is_ok();
            assert_eq!(by_zones, check_key(&refs), "{h:?}");
        }
    }

    #[test]
    fn pending_put_may_or_may_not_take_effect() {
        let h = [op(0, None, put("a")), op(5, Some(6), get("a"))];
        assert_eq!(check(&h), Ok(()));
        let h = [op(0, None, put("a")), op(5, Some(6), get(""))];
        assert_eq!(check(&h), Ok(()));
        let h = [
            op(0, None, put("a")),
            op(1, Some(2), get("a")),
            op(3, Some(4), get("")),
        ];
        assert!(check(&h).is_err());
    }
}
