//! Raft's safety properties (Figure 3), checked after every simulated event.
//!
//! - Election Safety: at most one leader per term.
//! - Leader Append-Only: a leader never overwrites or deletes entries of its
//!   own log while it leads the term.
//! - Log Matching: two logs with an entry of the same index and term agree
//!   up to it.
//! - Leader Completeness: every leader of a term holds every entry committed
//!   in earlier terms, checked whenever a leader is seen and whenever the
//!   committed prefix grows.
//! - State Machine Safety: nodes agree on every committed entry, and two
//!   stores that applied the same number of entries hold the same data.
//! - Commit Quorum: a node's commit index only covers an entry held by a
//!   majority of all nodes (crashed ones count with their persistent log).
//! - Vote Once: a node grants at most one vote per term (Figure 2's
//!   `votedFor`, which must survive a restart).
//! - Commit Rule: a leader moves its commit index only to an entry of its
//!   own term (§5.4.2).
//! - Commit Monotonic: a node's commit index never goes back (except through
//!   a restart, which forgets it).
//!
//! Owns a record of what the cluster has shown so far: the leader of each
//! term, a hash of every log prefix seen at each (index, term), each node's
//! latest log, and the committed prefix. Reads nodes; never changes them.
//! A check that fails says which [`Property`] broke and how ([`Breach`]).
//!
//! Each log is summarised by prefix hashes: `h(i) = H(h(i-1), term_i,
//! command_i)`, so two logs agree up to `i` exactly when their `h(i)` are equal
//! (up to hash collisions), and every check is a comparison of two numbers.

use crate::raft::{Index, Node, NodeId, RoleKind, StateMachine, Term};
use crate::sim::trace::Name;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

/// A safety property the simulator, the explorer and the page check, with
/// where it is stated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    ElectionSafety,
    LeaderAppendOnly,
    LogMatching,
    LeaderCompleteness,
    StateMachineSafety,
    CommitQuorum,
    CommitRule,
    CommitMonotonic,
    VoteOnce,
    PersistentState,
    ElectionTimer,
    LeaseExclusion,
    StaleTerm,
    /// The clients' history (the explorer's; chaos checks it at the end).
    Linearizability,
    /// What the servers answered against what their stores applied: no
    /// `ok` put left unapplied, no MID applied after a refusal, no
    /// operation applied twice.
    ClientAnswers,
    /// Every put applied was acknowledged (checked after a quiet end).
    AcknowledgedPuts,
}

impl Property {
    /// Its name, as the checks, the lights and the traces write it.
    pub const fn name(self) -> &'static str {
        match self {
            Property::ElectionSafety => "Election Safety",
            Property::LeaderAppendOnly => "Leader Append-Only",
            Property::LogMatching => "Log Matching",
            Property::LeaderCompleteness => "Leader Completeness",
            Property::StateMachineSafety => "State Machine Safety",
            Property::CommitQuorum => "Commit Quorum",
            Property::CommitRule => "Commit Rule",
            Property::CommitMonotonic => "Commit Monotonic",
            Property::VoteOnce => "Vote Once",
            Property::PersistentState => "Persistent State",
            Property::ElectionTimer => "Election Timer",
            Property::LeaseExclusion => "Lease Exclusion",
            Property::StaleTerm => "Stale Term",
            Property::Linearizability => "Linearizability",
            Property::ClientAnswers => "Client Answers",
            Property::AcknowledgedPuts => "Acknowledged Puts",
        }
    }

    /// A breach of it in one sentence: "Log Matching: S2 has ...".
    pub fn said(self, detail: &str) -> String {
        format!("{}: {detail}", self.name())
    }

    /// Where the rule it checks is stated.
    pub fn source(self) -> &'static str {
        match self {
            Property::ElectionSafety
            | Property::LeaderAppendOnly
            | Property::LogMatching
            | Property::LeaderCompleteness
            | Property::StateMachineSafety => "Figure 3",
            Property::CommitQuorum | Property::CommitMonotonic => "Figure 2, §5.3",
            Property::CommitRule => "§5.4.2",
            Property::VoteOnce | Property::PersistentState | Property::ElectionTimer => "Figure 2",
            Property::LeaseExclusion => "thesis §6.4.1",
            Property::StaleTerm => "Figure 2, AppendEntries 1",
            Property::Linearizability => "§8, thesis §6.3",
            Property::ClientAnswers | Property::AcknowledgedPuts => "§8",
        }
    }
}

/// A property found broken: which, and what broke it in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    pub property: Property,
    pub detail: String,
}

impl Breach {
    pub fn new(property: Property, detail: String) -> Breach {
        Breach { property, detail }
    }
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.property.said(&self.detail))
    }
}

#[derive(Default, Clone, Hash)]
struct View {
    terms: Vec<Term>,
    hashes: Vec<u64>,
    commit: Index,
    role: Option<RoleKind>,
    term: Term,
}

#[derive(Default, Clone)]
pub struct Invariants {
    leaders: BTreeMap<Term, NodeId>,
    prefixes: HashMap<(Index, Term), u64>,
    committed: Vec<u64>,
    /// For each term, the longest committed prefix first reported by a node
    /// of that term.
    commit_terms: BTreeMap<Term, usize>,
    views: Vec<View>,
    /// Digest of a store after applying the first `n` entries, as first seen.
    stores: HashMap<Index, (NodeId, u64)>,
    /// Who each node voted for in each term.
    votes: HashMap<(NodeId, Term), NodeId>,
}

impl Invariants {
    pub fn new(nodes: usize) -> Self {
        Invariants {
            views: vec![View::default(); nodes],
            ..Invariants::default()
        }
    }

    /// Everything recorded so far, hashed: two runs with equal nodes but
    /// different histories (a leader seen in a term, a vote granted, a
    /// prefix committed) can still break different checks later, so the
    /// explorer tells them apart. Hash maps are summed entry by entry, so
    /// their order does not count.
    pub fn fingerprint<H: Hasher>(&self, state: &mut H) {
        self.leaders.hash(state);
        unordered_hash(self.prefixes.iter()).hash(state);
        self.committed.hash(state);
        self.commit_terms.hash(state);
        self.views.hash(state);
        unordered_hash(self.stores.iter()).hash(state);
        unordered_hash(self.votes.iter()).hash(state);
    }

    /// A node restarted: its commit index (volatile) starts again from 0.
    pub fn restarted(&mut self, id: NodeId) {
        let view = &mut self.views[id as usize];
        view.commit = 0;
        view.role = None;
    }

    /// Checks one node's state against everything seen so far.
    pub fn observe<S: StateMachine>(&mut self, node: &Node<S>) -> Result<(), Breach> {
        let id = node.id();
        let term = node.term();
        let role = node.role();
        let view = &self.views[id as usize];
        let led_before =
            (view.role == Some(RoleKind::Leader) && view.term == term).then_some(view.terms.len());
        let kept = self.update_log(node)?;
        if let Some(len) = led_before.filter(|&len| role == RoleKind::Leader && kept < len) {
            return Err(Breach::new(
                Property::LeaderAppendOnly,
                format!(
                    "S{} leads term {term} and replaced its entries {}..={len}",
                    id + 1,
                    kept + 1
                ),
            ));
        }
        if role == RoleKind::Leader {
            let leader = *self.leaders.entry(term).or_insert(id);
            if leader != id {
                return Err(Breach::new(
                    Property::ElectionSafety,
                    format!("{} and {} both lead term {term}", Name(leader), Name(id)),
                ));
            }
        }
        self.views[id as usize].role = Some(role);
        self.views[id as usize].term = term;
        if role == RoleKind::Leader {
            self.check_leader_completeness(id, term)?;
        }
        self.check_commit(id, node.commit_index(), term)
    }

    /// A node granted its vote: `(voter, term, candidate)`.
    pub fn observe_vote(
        &mut self,
        (voter, term, candidate): (NodeId, Term, NodeId),
    ) -> Result<(), Breach> {
        let first = *self.votes.entry((voter, term)).or_insert(candidate);
        if first != candidate {
            return Err(Breach::new(
                Property::VoteOnce,
                format!(
                    "S{} voted for S{} and for S{} in term {term}",
                    voter + 1,
                    first + 1,
                    candidate + 1
                ),
            ));
        }
        Ok(())
    }

    /// Checks a store that has applied the first `applied` entries, by a
    /// digest of its contents, against any other store seen at that point.
    pub fn observe_store(&mut self, id: NodeId, applied: Index, digest: u64) -> Result<(), Breach> {
        if applied == 0 {
            return Ok(());
        }
        let (other, seen) = *self.stores.entry(applied).or_insert((id, digest));
        if seen != digest {
            return Err(Breach::new(
                Property::StateMachineSafety,
                format!(
                    "the stores of S{} and S{} differ after applying {applied} entries",
                    other + 1,
                    id + 1
                ),
            ));
        }
        Ok(())
    }

    /// Updates a node's view of its log; returns how many entries of the
    /// previous view it kept.
    fn update_log<S: StateMachine>(&mut self, node: &Node<S>) -> Result<usize, Breach> {
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
                return Err(Breach::new(
                    Property::LogMatching,
                    format!(
                        "S{} has an entry at index {index} of term {} whose log differs from another node's with the same index and term",
                        node.id() + 1,
                        entry.term
                    ),
                ));
            }
        }
        Ok(same)
    }

    fn check_leader_completeness(&self, id: NodeId, term: Term) -> Result<(), Breach> {
        let earlier = self
            .commit_terms
            .range(..term)
            .map(|(_, len)| *len)
            .max()
            .unwrap_or(0);
        let hashes = &self.views[id as usize].hashes;
        if earlier > 0 && hashes.get(earlier - 1) != Some(&self.committed[earlier - 1]) {
            return Err(Breach::new(
                Property::LeaderCompleteness,
                format!(
                    "S{} leads term {term} without the entries committed up to index {earlier}",
                    id + 1
                ),
            ));
        }
        Ok(())
    }

    fn check_commit(&mut self, id: NodeId, commit: Index, term: Term) -> Result<(), Breach> {
        let view = &mut self.views[id as usize];
        let name = id + 1;
        if commit < view.commit {
            return Err(Breach::new(
                Property::CommitMonotonic,
                format!(
                    "the commit index of S{name} went back from {} to {commit}",
                    view.commit
                ),
            ));
        }
        let advanced = commit > view.commit;
        view.commit = commit;
        let commit = commit as usize;
        if commit == 0 {
            return Ok(());
        }
        if commit > view.hashes.len() {
            return Err(Breach::new(
                Property::CommitQuorum,
                format!(
                    "S{name} commits index {commit} beyond its log ({} entries)",
                    view.hashes.len()
                ),
            ));
        }
        if advanced {
            self.check_quorum_holds(id, commit)?;
            self.check_commit_rule(id, commit, term)?;
        }
        let view = &self.views[id as usize];
        let common = commit.min(self.committed.len());
        if common > 0 && view.hashes[common - 1] != self.committed[common - 1] {
            return Err(Breach::new(
                Property::StateMachineSafety,
                format!(
                    "S{name} committed a different entry at or before index {common} than another node"
                ),
            ));
        }
        if commit > self.committed.len() {
            let view = &self.views[id as usize];
            self.committed
                .extend_from_slice(&view.hashes[self.committed.len()..commit]);
            let longest = self.commit_terms.entry(term).or_default();
            *longest = (*longest).max(commit);
            // Leader Completeness: every leader of a later term must hold it.
            let later_leaders: Vec<(NodeId, Term)> = (0..self.views.len())
                .filter(|&i| self.views[i].role == Some(RoleKind::Leader))
                .filter(|&i| self.views[i].term > term)
                .map(|i| (i as NodeId, self.views[i].term))
                .collect();
            for (leader, t) in later_leaders {
                self.check_leader_completeness(leader, t)?;
            }
        }
        Ok(())
    }

    /// §5.4.2 and Figure 2: a leader moves its commit index only to an entry
    /// of its own term (earlier ones commit with it, indirectly).
    fn check_commit_rule(&self, id: NodeId, commit: usize, term: Term) -> Result<(), Breach> {
        let view = &self.views[id as usize];
        let entry_term = view.terms[commit - 1];
        if view.role == Some(RoleKind::Leader) && entry_term != term {
            return Err(Breach::new(
                Property::CommitRule,
                format!(
                    "S{}, leader of term {term}, committed up to index {commit}, an entry of term {entry_term} (§5.4.2)",
                    id + 1
                ),
            ));
        }
        Ok(())
    }

    /// The entry at `commit` on node `id` is held by a majority of all nodes.
    fn check_quorum_holds(&self, id: NodeId, commit: usize) -> Result<(), Breach> {
        let hash = self.views[id as usize].hashes[commit - 1];
        let holders = self
            .views
            .iter()
            .filter(|v| v.hashes.get(commit - 1) == Some(&hash))
            .count();
        let n = self.views.len();
        if holders <= n / 2 {
            return Err(Breach::new(
                Property::CommitQuorum,
                format!(
                    "S{} commits index {commit}, which only {holders} of {n} nodes hold",
                    id + 1
                ),
            ));
        }
        Ok(())
    }
}

/// A hash of a multiset: the wrapping sum of its items' hashes, so that
/// their order does not count and a repeated item counts each time.
pub fn unordered_hash<T: Hash>(items: impl Iterator<Item = T>) -> u64 {
    items.fold(0u64, |acc, item| {
        let mut h = DefaultHasher::new();
        item.hash(&mut h);
        acc.wrapping_add(h.finish())
    })
}
