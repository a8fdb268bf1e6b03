//! Raft's safety properties (Figure 3), checked after every simulated event.
//!
//! Owns a record of what the cluster has shown so far: the leader of each
//! term, a hash of every log prefix seen at each (index, term), and the
//! committed prefix. Reads nodes; never changes them.
//!
//! Each log is summarised by prefix hashes: `h(i) = H(h(i-1), term_i,
//! command_i)`, so two logs agree up to `i` exactly when their `h(i)` are equal
//! (up to hash collisions), and every check is a comparison of two numbers.

use crate::raft::{Index, Node, NodeId, RoleKind, StateMachine, Term};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

#[derive(Default, Clone)]
struct View {
    terms: Vec<Term>,
    hashes: Vec<u64>,
    commit: Index,
    role: Option<RoleKind>,
}

#[derive(Default)]
pub struct Invariants {
    leaders: BTreeMap<Term, NodeId>,
    prefixes: HashMap<(Index, Term), u64>,
    committed: Vec<u64>,
    /// `(committed length, term of the node that first reported it)`.
    commit_terms: Vec<(usize, Term)>,
    views: Vec<View>,
}

impl Invariants {
    pub fn new(nodes: usize) -> Self {
        Invariants {
            views: vec![View::default(); nodes],
            ..Invariants::default()
        }
    }

    /// A node restarted: its commit index (volatile) starts again from 0.
    pub fn restarted(&mut self, id: NodeId) {
        let view = &mut self.views[id as usize];
        view.commit = 0;
        view.role = None;
    }

    /// Checks one node's state against everything seen so far.
    pub fn observe<S: StateMachine>(&mut self, node: &Node<S>) -> Result<(), String> {
        let id = node.id();
        self.update_log(node)?;
        let term = node.term();
        let role = node.role();
        let view = &self.views[id as usize];
        let became_leader = role == RoleKind::Leader && view.role != Some(RoleKind::Leader);
        if role == RoleKind::Leader {
            let leader = *self.leaders.entry(term).or_insert(id);
            if leader != id {
                return Err(format!(
                    "Election Safety: S{} and S{} both lead term {term}",
                    leader + 1,
                    id + 1
                ));
            }
        }
        if became_leader {
            self.check_leader_completeness(id, term)?;
        }
        self.check_commit(id, node.commit_index(), term)?;
        self.views[id as usize].role = Some(role);
        Ok(())
    }

    fn update_log<S: StateMachine>(&mut self, node: &Node<S>) -> Result<(), String> {
        let log = node.log();
        let view = &mut self.views[node.id() as usize];
        let same = view
            .terms
            .iter()
            .zip(log.iter())
            .take_while(|(t, e)| **t == e.term)
            .count();
        view.terms.truncate(same);
        view.hashes.truncate(same);
        for (offset, entry) in log.iter().enumerate().skip(same) {
            let index = offset as Index + 1;
            let mut h = DefaultHasher::new();
            view.hashes.last().copied().unwrap_or(0).hash(&mut h);
            entry.term.hash(&mut h);
            entry.command.hash(&mut h);
            let hash = h.finish();
            view.terms.push(entry.term);
            view.hashes.push(hash);
            let seen = *self.prefixes.entry((index, entry.term)).or_insert(hash);
            if seen != hash {
                return Err(format!(
                    "Log Matching: S{} has an entry at index {index} of term {} whose log differs from another node's with the same index and term",
                    node.id() + 1,
                    entry.term
                ));
            }
        }
        Ok(())
    }

    fn check_leader_completeness(&self, id: NodeId, term: Term) -> Result<(), String> {
        let earlier = self
            .commit_terms
            .iter()
            .filter(|(_, t)| *t < term)
            .map(|(len, _)| *len)
            .max()
            .unwrap_or(0);
        let hashes = &self.views[id as usize].hashes;
        if earlier > 0 && hashes.get(earlier - 1) != Some(&self.committed[earlier - 1]) {
            return Err(format!(
                "Leader Completeness: S{} leads term {term} without the entries committed up to index {earlier}",
                id + 1
            ));
        }
        Ok(())
    }

    fn check_commit(&mut self, id: NodeId, commit: Index, term: Term) -> Result<(), String> {
        let view = &mut self.views[id as usize];
        let name = id + 1;
        if commit < view.commit {
            return Err(format!(
                "commit index of S{name} went back from {} to {commit}",
                view.commit
            ));
        }
        view.commit = commit;
        let commit = commit as usize;
        if commit == 0 {
            return Ok(());
        }
        if commit > view.hashes.len() {
            return Err(format!(
                "S{name} commits index {commit} beyond its log ({} entries)",
                view.hashes.len()
            ));
        }
        let common = commit.min(self.committed.len());
        if common > 0 && view.hashes[common - 1] != self.committed[common - 1] {
            return Err(format!(
                "State Machine Safety: S{name} committed a different entry at or before index {common} than another node"
            ));
        }
        if commit > self.committed.len() {
            self.committed
                .extend_from_slice(&view.hashes[self.committed.len()..commit]);
            self.commit_terms.push((commit, term));
        }
        Ok(())
    }
}
