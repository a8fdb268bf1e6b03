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
    Some(zones_apart(&clusters))
}

/// The values' zones: those read over a span (forward zones) must not
/// overlap, and a value that took effect at a moment (a backward zone) must
/// not fall inside another value's forward zone.
fn zones_apart(clusters: &BTreeMap<&str, Cluster>) -> Result<(), String> {
    // A put nobody read and nobody waited for may never have happened.
    let mut forward: Vec<(u64, u64, &str)> = Vec::new();
    let mut backward: Vec<(u64, u64, &str)> = Vec::new();
    for (value, c) in clusters {
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
            return Err(format!(
                "the values {a:?} and {b:?} were each seen over overlapping spans"
            ));
        }
    }
    for (start, end, value) in backward {
        let inside = forward.partition_point(|z| z.0 < start);
        let Some(&(_, zone_end, other)) = inside.checked_sub(1).map(|i| &forward[i]) else {
            continue;
        };
        if end < zone_end {
            return Err(format!(
                "{value:?} took effect while {other:?} was still being read"
            ));
        }
    }
    Ok(())
}

/// The smallest set of `history`'s operations (all on one key) that still
/// has no linearization: operations are dropped one at a time while the
/// rest still fails, so that no single one of those left can go (a put
/// stays while a get left reads its value, so that the set never blames a
/// get for a value "no put wrote"). Indices into `history`, in order;
/// empty if it is linearizable.
pub fn unorderable(history: &[Operation]) -> Vec<usize> {
    if check(history).is_ok() {
        return Vec::new();
    }
    let mut keep: Vec<usize> = (0..history.len()).collect();
    // Until a pass drops nothing: a put kept for a get dropped later in
    // the pass may go on the next.
    while drop_one_pass(history, &mut keep) {}
    keep
}

/// One pass of [`unorderable`]; whether it dropped anything.
fn drop_one_pass(history: &[Operation], keep: &mut Vec<usize>) -> bool {
    let before = keep.len();
    let mut i = 0;
    while i < keep.len() {
        let candidate = &history[keep[i]];
        let read = |k: &usize| matches!((&candidate.kind, &history[*k].kind), (Kind::Put(v), Kind::Get(r)) if v == r);
        let without: Vec<Operation> = keep
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &k)| history[k].clone())
            .collect();
        if !keep.iter().any(read) && check(&without).is_err() {
            keep.remove(i);
        } else {
            i += 1;
        }
    }
    keep.len() < before
}

/// Why a set of operations on one key (as [`unorderable`] finds it) cannot
/// be ordered, in one sentence with their times.
pub fn why_unorderable(ops: &[&Operation]) -> String {
    let put_of = |v: &str| {
        ops.iter()
            .find(|o| matches!(&o.kind, Kind::Put(x) if x == v))
            .copied()
    };
    // `a` completed before `b` began.
    let before = |a: &Operation, b: &Operation| a.response.is_some_and(|r| r < b.invoke);
    // The put of `v` (or the initial "") completed before `b` began.
    let written_before =
        |v: &str, b: &Operation| v.is_empty() || put_of(v).is_some_and(|p| before(p, b));
    for g in ops {
        let (Kind::Get(v), Some(_)) = (&g.kind, g.response) else {
            continue;
        };
        let key = &g.key;
        if !v.is_empty() && put_of(v).is_none() {
            return format!("get {key} returned {v:?}, which no put wrote");
        }
        // A newer put completed before the get began.
        for q in ops {
            if let Kind::Put(w) = &q.kind
                && w != v
                && before(q, g)
                && written_before(v, q)
            {
                let after = if v.is_empty() {
                    String::new()
                } else {
                    format!(", after put {key}={v} completed")
                };
                return format!(
                    "get {key} returned {v:?} (invoked at {}), but put {key}={w} had completed at {}{after}",
                    secs(g.invoke),
                    secs(q.response.unwrap_or(0)),
                );
            }
        }
        // An earlier get already returned a newer value.
        for h in ops {
            if let Kind::Get(w) = &h.kind
                && w != v
                && before(h, g)
                && put_of(w).is_some_and(|pw| written_before(v, pw))
            {
                return format!(
                    "get {key} returned {v:?} (invoked at {}), but an earlier get had already returned the newer {w:?} at {}",
                    secs(g.invoke),
                    secs(h.response.unwrap_or(0)),
                );
            }
        }
    }
    let list: Vec<String> = ops.iter().map(|o| described(o)).collect();
    format!(
        "no order of these {} operations explains every get: {}",
        ops.len(),
        list.join(", ")
    )
}

/// A moment, as the sentences give it: "1.250 s".
fn secs(t: u64) -> String {
    format!("{:.3} s", crate::raft::time::as_secs(t))
}

/// One operation with its span: "put x=1 [0.100 s..0.200 s]".
fn described(o: &Operation) -> String {
    let span = format!(
        "{}..{}",
        secs(o.invoke),
        o.response.map_or("unanswered".into(), secs)
    );
    match &o.kind {
        Kind::Put(v) => format!("put {}={v} [{span}]", o.key),
        Kind::Get(v) => format!("get {} -> {v:?} [{span}]", o.key),
    }
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

    #[test]
    fn the_smallest_unorderable_set_is_the_stale_get_and_the_put_it_missed() {
        let h = [
            op(0, Some(10), put("1")),
            op(5, Some(6), get("")),
            op(20, Some(30), put("2")),
            op(31, Some(32), get("2")),
            op(40, Some(50), get("1")),
            op(41, Some(42), get("2")),
        ];
        let set = unorderable(&h);
        assert_eq!(set, vec![0, 2, 4], "put 1, put 2, the get of 1 after both");
        let ops: Vec<&Operation> = set.iter().map(|&i| &h[i]).collect();
        assert_eq!(
            why_unorderable(&ops),
            "get k returned \"1\" (invoked at 0.000 s), but put k=2 had completed at 0.000 s, after put k=1 completed"
        );
        assert!(
            unorderable(&h[..4]).is_empty(),
            "linearizable without the stale get"
        );
    }

    #[test]
    fn a_get_of_the_initial_value_after_a_put_completed_needs_two() {
        let h = [op(0, Some(10), put("1")), op(20, Some(30), get(""))];
        assert_eq!(unorderable(&h), vec![0, 1]);
        let ops: Vec<&Operation> = h.iter().collect();
        assert!(
            why_unorderable(&ops)
                .starts_with("get k returned \"\" (invoked at 0.000 s), but put k=1 had completed")
        );
    }
}
