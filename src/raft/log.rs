//! The replicated log (Figure 2, "log[]"): entries with their terms, 1-based.
//!
//! Owns only the entries. It knows nothing of roles, peers or commit rules;
//! [`super::Node`] decides what to append and where to truncate. Index 0 is a
//! sentinel of term 0, so "the entry before the first" always exists.

use super::{Index, Term};

/// One log entry. `command` is `None` for the no-op a new leader appends to
/// commit entries of earlier terms (§5.4.2, §8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry<C> {
    pub term: Term,
    pub command: Option<C>,
}

/// The entries of one node's log. Part of the persistent state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Log<C> {
    entries: Vec<Entry<C>>,
}

impl<C> Default for Log<C> {
    fn default() -> Self {
        Log {
            entries: Vec::new(),
        }
    }
}

impl<C: Clone> Log<C> {
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`: 0 for index 0, `None` past the end.
    pub fn term(&self, index: Index) -> Option<Term> {
        match index {
            0 => Some(0),
            i => self.get(i).map(|e| e.term),
        }
    }

    pub fn get(&self, index: Index) -> Option<&Entry<C>> {
        index
            .checked_sub(1)
            .and_then(|i| self.entries.get(i as usize))
    }

    /// Entries `from..=to` (clamped to the log).
    pub fn slice(&self, from: Index, to: Index) -> &[Entry<C>] {
        let start = (from.max(1) - 1) as usize;
        let end = (to.min(self.last_index())) as usize;
        if start >= end {
            &[]
        } else {
            &self.entries[start..end]
        }
    }

    pub fn append(&mut self, entry: Entry<C>) -> Index {
        self.entries.push(entry);
        self.last_index()
    }

    /// The first index of the run of entries that share the term of `index`
    /// (the conflict hint of the fast back-up in §5.3).
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let term = self.term(index);
        let mut first = index;
        while first > 1 && self.term(first - 1) == term {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of `term`, if any.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        self.entries
            .iter()
            .rposition(|e| e.term == term)
            .map(|i| i as Index + 1)
    }

    /// Merges `entries` that follow `prev` (§5.3 step 3 and 4): an existing
    /// entry that conflicts (same index, other term) is deleted with all that
    /// follow it; entries already present are kept, so a stale or reordered
    /// AppendEntries never shortens the log. Returns the removed entries.
    pub fn merge(&mut self, prev: Index, entries: &[Entry<C>]) -> Vec<Entry<C>> {
        let mut removed = Vec::new();
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev + 1 + offset as Index;
            match self.term(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    removed = self.entries.split_off((index - 1) as usize);
                    self.entries.push(entry.clone());
                }
                None => self.entries.push(entry.clone()),
            }
        }
        removed
    }

    /// The first index where `entries` after `prev` disagree with this log
    /// (same index, other term), if any.
    pub fn first_conflict(&self, prev: Index, entries: &[Entry<C>]) -> Option<Index> {
        entries
            .iter()
            .zip(prev + 1..)
            .find(|(e, i)| self.term(*i).is_some_and(|t| t != e.term))
            .map(|(_, i)| i)
    }

    /// The bug variant [`crate::raft::Bug::KeepConflicts`]: overwrites
    /// conflicting entries one by one and keeps whatever follows them.
    pub fn merge_keeping_suffix(&mut self, prev: Index, entries: &[Entry<C>])
    where
        C: Clone,
    {
        for (offset, entry) in entries.iter().enumerate() {
            let index = (prev + offset as Index) as usize;
            match self.entries.get_mut(index) {
                Some(old) => *old = entry.clone(),
                None => self.entries.push(entry.clone()),
            }
        }
    }

    /// Whether a log ending at (`last_index`, `last_term`) is at least as
    /// up-to-date as this one (§5.4.1).
    pub fn is_behind_or_equal(&self, last_index: Index, last_term: Term) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry<C>> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(terms: &[Term]) -> Log<u32> {
        let mut log = Log::default();
        for (i, &term) in terms.iter().enumerate() {
            log.append(Entry {
                term,
                command: Some(i as u32 + 1),
            });
        }
        log
    }

    fn terms(log: &Log<u32>) -> Vec<Term> {
        log.iter().map(|e| e.term).collect()
    }

    #[test]
    fn sentinel_and_bounds() {
        let l = log(&[1, 1, 2]);
        assert_eq!(l.term(0), Some(0));
        assert_eq!(l.term(3), Some(2));
        assert_eq!(l.term(4), None);
        assert_eq!(l.slice(2, 10).len(), 2);
        assert!(l.slice(4, 10).is_empty());
    }

    #[test]
    fn merge_truncates_only_on_conflict() {
        let mut l = log(&[1, 1, 2, 2]);
        let same = l.slice(2, 3).to_vec();
        assert!(l.merge(1, &same).is_empty(), "matching entries are kept");
        assert_eq!(terms(&l), vec![1, 1, 2, 2]);
        let removed = l.merge(
            2,
            &[Entry {
                term: 3,
                command: None,
            }],
        );
        assert_eq!(removed.len(), 2);
        assert_eq!(terms(&l), vec![1, 1, 3]);
    }

    #[test]
    fn conflict_hints() {
        let l = log(&[1, 1, 4, 4, 4, 5]);
        assert_eq!(l.first_index_of_term_at(5), 3);
        assert_eq!(l.last_index_of_term(4), Some(5));
        assert_eq!(l.last_index_of_term(2), None);
    }

    #[test]
    fn up_to_date_compares_term_then_index() {
        let l = log(&[1, 2, 2]);
        assert!(l.is_behind_or_equal(3, 2));
        assert!(l.is_behind_or_equal(1, 3));
        assert!(!l.is_behind_or_equal(5, 1));
        assert!(!l.is_behind_or_equal(2, 2));
    }
}
