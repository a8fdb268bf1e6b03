//! A linearizability checker for a key-value history (Wing & Gong, with the
//! memoisation of Lowe's refinement), one key at a time: linearizability is
//! local, so a history is linearizable when each key's is.
//!
//! Owns only the search. The history comes from whoever ran the clients.

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

/// Checks every key; on failure names the first key with no linearization.
pub fn check(history: &[Operation]) -> Result<(), String> {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in history {
        by_key.entry(&op.key).or_default().push(op);
    }
    for (key, ops) in by_key {
        if !check_key(&ops) {
            return Err(format!(
                "the {} operations on key {key} have no linearization",
                ops.len()
            ));
        }
    }
    Ok(())
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
