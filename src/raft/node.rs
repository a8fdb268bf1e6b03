//! One Raft node: roles, elections, replication, commitment and reads.
//!
//! Owns a node's persistent state (term, vote, log), its volatile state
//! (commit index, role, what it knows of the leader), the leader's
//! per-follower [`Progress`], a seeded RNG for election timeouts, and the
//! state machine it applies committed commands to.
//!
//! Must not touch: clocks, sockets, threads, global randomness, encodings.
//! Every input carries the time (`now`); every effect is an [`Output`] the
//! caller takes with [`Node::take_outputs`]; [`Node::next_deadline`] says when
//! to call [`Node::tick`] next.

use super::log::{Entry, Log};
use super::message::{Envelope, Message};
use super::progress::Progress;
use super::quorum::{majority, quorum_value};
use super::{Bug, Config, Fanout, Index, NodeId, ReadMode, StateMachine, Term, Time};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What survives a crash (Figure 2, "persistent state on all servers").
///
/// The persistence rule: after any input, whatever changed here (a new term,
/// a vote, appended or truncated entries) must be on stable storage before
/// any of the [`Output`]s of that input leave the node. A vote granted, an
/// AppendEntries acknowledged or a leader's own entry counted towards a
/// majority are promises about this state; a node that forgot them after a
/// crash could vote twice in a term or lose a committed entry. The simulator
/// keeps this struct across crashes and checks it on restart (Persistent
/// State); the UDP replica keeps it in memory only, as the course's grader
/// never restarts a killed replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistent<C> {
    pub current_term: Term,
    pub voted_for: Option<NodeId>,
    pub log: Log<C>,
}

impl<C> Default for Persistent<C> {
    fn default() -> Self {
        Persistent {
            current_term: 0,
            voted_for: None,
            log: Log::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RoleKind {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// What a node asks its caller to do.
#[derive(Debug)]
pub enum Output<S: StateMachine> {
    Send(Envelope<S::Command>),
    /// An answer for a client: from applying a committed command (leaders
    /// only) or from serving a read.
    Reply(S::Reply),
    /// A read this node accepted as leader but can no longer serve, because
    /// it lost leadership. Nothing was answered for it.
    Unserved(S::Query),
}

/// A proposal or read refused because this node does not lead; carries its
/// best guess of who does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLeader {
    pub leader: Option<NodeId>,
}

struct PendingRead<Q> {
    query: Q,
    /// Serve once a majority acknowledged a heartbeat stamped at or after this.
    stamp: Time,
    /// Serve once the commit index reaches this.
    index: Index,
}

struct LeaderState<Q> {
    progress: BTreeMap<NodeId, Progress>,
    elected_at: Time,
    /// Index of this term's no-op: reads wait until it commits.
    term_start: Index,
    /// Entries up to here were committed, and so answered, by an earlier
    /// leader; only later ones are answered by this one.
    answer_floor: Index,
    pending_reads: Vec<PendingRead<Q>>,
    /// Latest time a heartbeat went to every follower at once.
    last_broadcast: Time,
    /// Since when the oldest uncommitted entry has waited, if any.
    stall_since: Option<Time>,
    /// Proposals (since this time) wait to go out together at the next
    /// [`Node::tick`], which [`Node::next_deadline`] makes due at once: a
    /// caller that steps a burst of requests before ticking sends one
    /// AppendEntries per follower for all of them, not one each (a burst of
    /// datagrams can overflow the receiver's socket buffer).
    flush_due: Option<Time>,
    /// Reads wait for a heartbeat round to every follower, sent at the next
    /// tick like proposals.
    round_due: bool,
}

/// A (pre-)candidate's tally.
struct Campaign {
    votes: BTreeSet<NodeId>,
    /// Peers that answered, granting or not.
    answered: BTreeSet<NodeId>,
    /// The largest commit index a voter reported.
    max_commit: Index,
    /// When to ask again the peers that have not answered (requests and
    /// answers can be lost), with the wait doubling each time.
    resend_at: Time,
    backoff: Time,
}

enum Role<Q> {
    Follower,
    PreCandidate(Campaign),
    Candidate(Campaign),
    Leader(Box<LeaderState<Q>>),
}

pub struct Node<S: StateMachine> {
    id: NodeId,
    peers: Vec<NodeId>,
    config: Config,
    persistent: Persistent<S::Command>,
    commit_index: Index,
    last_applied: Index,
    role: Role<S::Query>,
    leader: Option<NodeId>,
    last_leader_contact: Option<Time>,
    /// No vote for another candidate before this (thesis §4.2.3): a leader
    /// was heard from less than a minimum election timeout ago.
    vote_guard_until: Time,
    election_deadline: Time,
    /// When this follower last asked its leader for a sign of life.
    last_probe: Option<Time>,
    /// `(term, index)`: this follower's log matches the leader of `term` up
    /// to `index` (from the AppendEntries it accepted).
    leader_match: (Term, Index),
    led_terms: BTreeSet<Term>,
    /// Commands this node proposed as leader whose entries a later leader
    /// overwrote, handed to the current leader with `Forward` and sent again
    /// until they show up in the entries that leader sends (a Forward can be
    /// lost like any message).
    forwarding: Vec<S::Command>,
    /// When to send `forwarding` again, and the wait after that (doubling
    /// up to a heartbeat interval).
    forward_retry: (Time, Time),
    /// Election timeouts that fired (observed by the simulator's checks).
    timeouts: u64,
    rng: ChaCha8Rng,
    state_machine: S,
    outputs: Vec<Output<S>>,
}

impl<S: StateMachine> Node<S> {
    /// A node that has never run. `peers` are the other members.
    pub fn new(id: NodeId, peers: &[NodeId], config: Config, seed: u64, now: Time, sm: S) -> Self {
        Self::restart(id, peers, config, seed, now, sm, Persistent::default())
    }

    /// A node coming back from a crash with only its persistent state. Like a
    /// fresh node it waits a minimum election timeout before it votes, so
    /// that it cannot help cut short a lease it acknowledged before the crash.
    pub fn restart(
        id: NodeId,
        peers: &[NodeId],
        config: Config,
        seed: u64,
        now: Time,
        state_machine: S,
        mut persistent: Persistent<S::Command>,
    ) -> Self {
        if config.has(Bug::ForgetVotedFor) {
            persistent.voted_for = None;
        }
        let mut peers: Vec<NodeId> = peers.iter().copied().filter(|&p| p != id).collect();
        peers.sort_unstable();
        peers.dedup();
        let mut node = Node {
            id,
            peers,
            vote_guard_until: now + config.election_timeout_min,
            config,
            persistent,
            commit_index: 0,
            last_applied: 0,
            role: Role::Follower,
            leader: None,
            last_leader_contact: None,
            election_deadline: now,
            last_probe: None,
            leader_match: (0, 0),
            led_terms: BTreeSet::new(),
            forwarding: Vec::new(),
            forward_retry: (Time::MAX, 0),
            timeouts: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ (u64::from(id) << 48)),
            state_machine,
            outputs: Vec::new(),
        };
        node.reset_election_deadline(now);
        node
    }

    // ----- reads of state -------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }
    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn term(&self) -> Term {
        self.persistent.current_term
    }
    pub fn voted_for(&self) -> Option<NodeId> {
        self.persistent.voted_for
    }
    pub fn log(&self) -> &Log<S::Command> {
        &self.persistent.log
    }
    pub fn persistent(&self) -> &Persistent<S::Command> {
        &self.persistent
    }
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }
    pub fn state_machine(&self) -> &S {
        &self.state_machine
    }
    pub fn election_deadline(&self) -> Time {
        self.election_deadline
    }
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    pub fn role(&self) -> RoleKind {
        match self.role {
            Role::Follower => RoleKind::Follower,
            Role::PreCandidate(_) => RoleKind::PreCandidate,
            Role::Candidate(_) => RoleKind::Candidate,
            Role::Leader(_) => RoleKind::Leader,
        }
    }

    /// Who this node believes leads, however old that knowledge is.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The leader, if it was heard from within the last retry timeout, so
    /// that it was alive a round trip ago: worth sending a client to. A
    /// follower that last heard from its leader longer ago (the leader may
    /// have died) should wait for the next sign of life instead of bouncing
    /// clients to it.
    pub fn fresh_leader(&self, now: Time) -> Option<NodeId> {
        if self.is_leader() {
            return Some(self.id);
        }
        let window = self.config.retry_timeout;
        self.leader
            .filter(|_| self.last_leader_contact.is_some_and(|t| now < t + window))
    }

    /// Asks the leader this follower believes in for a sign of life (at most
    /// once per retry timeout), so that held client requests can be
    /// redirected as soon as it answers.
    pub fn probe_leader(&mut self, now: Time) {
        let Some(leader) = self.leader.filter(|&l| l != self.id) else {
            return;
        };
        let retry = self.config.retry_timeout;
        if self.last_probe.is_none_or(|t| now >= t + retry) {
            self.last_probe = Some(now);
            self.send(leader, self.term(), Message::Probe);
        }
    }

    /// The leader's view of each follower, `(peer, next_index, match_index)`.
    pub fn progress(&self) -> Vec<(NodeId, Index, Index)> {
        match &self.role {
            Role::Leader(l) => l
                .progress
                .iter()
                .map(|(&p, pr)| (p, pr.next_index, pr.match_index))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn take_outputs(&mut self) -> Vec<Output<S>> {
        std::mem::take(&mut self.outputs)
    }

    /// The next time [`Node::tick`] has work to do.
    pub fn next_deadline(&self) -> Time {
        let l = match &self.role {
            Role::Leader(l) => l,
            Role::PreCandidate(c) | Role::Candidate(c) => {
                return self
                    .election_deadline
                    .min(c.resend_at)
                    .min(self.forward_retry.0);
            }
            Role::Follower => return self.election_deadline.min(self.forward_retry.0),
        };
        let c = &self.config;
        let mut deadline = l.flush_due.unwrap_or(Time::MAX);
        for p in l.progress.values() {
            deadline = deadline.min(p.last_sent.map_or(0, |t| t + c.heartbeat_interval));
            if let Some(t) = p.retry_at() {
                deadline = deadline.min(t);
            }
        }
        if let Some(t) = l.stall_since {
            deadline = deadline.min(t + 2 * c.retry_timeout);
        }
        if c.check_quorum {
            let stamp = majority_stamp(l, l.elected_at);
            deadline = deadline.min(stamp.saturating_add(c.election_timeout_max));
        }
        deadline
    }

    // ----- inputs -----------------------------------------------------------

    /// Time passes: election timeouts, heartbeats, retries, CheckQuorum.
    pub fn tick(&mut self, now: Time) {
        if !self.is_leader() {
            if now >= self.forward_retry.0 {
                self.resend_forward(now);
            }
            if now >= self.election_deadline {
                self.leader = None;
                self.timeouts += 1;
                self.start_election(now, self.config.pre_vote);
            } else {
                self.resend_vote_requests(now);
            }
            return;
        }
        if self.config.check_quorum && self.lost_quorum(now) {
            let term = self.term();
            self.become_follower(now, term, None);
            return;
        }
        self.flush(now);
        self.replicate(now);
    }

    /// Sends what waited for this tick: a heartbeat round for reads (with
    /// any new entries), to every follower.
    fn flush(&mut self, now: Time) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        l.flush_due = None;
        if std::mem::take(&mut l.round_due) {
            l.last_broadcast = now;
            for peer in self.peers.clone() {
                self.send_append(now, peer);
            }
        }
    }

    /// Times out at once, as if the election timer fired (the playground's
    /// "time out" button, and leadership hand-over in tests). Inside the vote
    /// guard (a leader was heard from less than a minimum election timeout
    /// ago) the timeout is only brought forward to the guard's end: this node
    /// may be part of that leader's lease, and voting for itself now could
    /// elect a second leader while the first still serves reads.
    pub fn campaign(&mut self, now: Time) {
        if !self.is_leader() {
            self.election_deadline = now.max(self.vote_guard_until);
            self.tick(now);
        }
    }

    /// How many times this node's election timer fired since it started.
    pub fn election_timeouts(&self) -> u64 {
        self.timeouts
    }

    /// A client write: appended to the log if this node leads.
    pub fn propose(&mut self, now: Time, command: S::Command) -> Result<Index, NotLeader> {
        let term = self.term();
        let Role::Leader(l) = &mut self.role else {
            return Err(NotLeader {
                leader: self.leader,
            });
        };
        l.stall_since.get_or_insert(now);
        l.flush_due.get_or_insert(now);
        let index = self.persistent.log.append(Entry {
            term,
            command: Some(command),
        });
        self.advance_commit(now);
        Ok(index)
    }

    /// A client read, answered (now or later) with an [`Output::Reply`] if
    /// this node leads and stays leader, or an [`Output::Unserved`].
    pub fn read(&mut self, now: Time, query: S::Query) -> Result<(), NotLeader> {
        let lease = self.config.read_mode == ReadMode::Lease && self.lease_valid(now);
        let commit = self.commit_index;
        let Role::Leader(l) = &mut self.role else {
            return Err(NotLeader {
                leader: self.leader,
            });
        };
        let unchecked = self.config.has(Bug::ReadsUnchecked);
        let read = PendingRead {
            query,
            stamp: if lease || unchecked { 0 } else { now },
            index: if self.config.has(Bug::ReadBeforeNoop) {
                commit
            } else {
                commit.max(l.term_start)
            },
        };
        if read.stamp > l.last_broadcast {
            l.round_due = true;
            l.flush_due.get_or_insert(now);
        }
        l.pending_reads.push(read);
        self.serve_reads();
        Ok(())
    }

    /// A message from another node.
    pub fn step(&mut self, now: Time, envelope: Envelope<S::Command>) {
        let Envelope {
            from,
            to,
            term,
            message,
        } = envelope;
        if to != self.id || !self.peers.contains(&from) {
            return;
        }
        match message {
            Message::RequestVote {
                last_log_index,
                last_log_term,
                pre_vote: true,
            } => return self.on_pre_vote(now, from, term, last_log_index, last_log_term),
            Message::RequestVoteResponse {
                granted: true,
                pre_vote: true,
                ..
            } => return self.on_pre_vote_granted(now, from, term),
            // Every other message may carry a newer term: handled below.
            _ => {}
        }
        if term > self.term() {
            if matches!(message, Message::RequestVote { .. }) && self.refuses_votes(now) {
                return self.send_vote(from, false, false, self.term());
            }
            let leader = matches!(message, Message::AppendEntries { .. }).then_some(from);
            self.become_follower(now, term, leader);
        }
        match message {
            Message::AppendEntries {
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                stamp,
            } => {
                let append = (prev_log_index, prev_log_term, leader_commit, stamp);
                self.on_append_entries(now, from, term, append, entries)
            }
            Message::AppendEntriesResponse {
                index,
                success,
                conflict_term,
                stamp,
            } if term == self.term() => {
                self.on_append_response(now, from, index, success, conflict_term, stamp)
            }
            Message::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.on_request_vote(now, from, term, last_log_index, last_log_term),
            Message::RequestVoteResponse {
                granted,
                commit_index,
                pre_vote: false,
            } if term == self.term() && matches!(self.role, Role::Candidate(_)) => {
                self.on_vote(now, from, granted, commit_index)
            }
            Message::RequestVoteResponse { pre_vote: true, .. }
                if matches!(self.role, Role::PreCandidate(_)) =>
            {
                self.on_vote(now, from, false, 0)
            }
            Message::Forward { commands } => self.on_forward(now, commands),
            Message::Probe if term == self.term() => self.send_append(now, from),
            Message::Commit { index } if term == self.term() => {
                self.on_commit_notice(now, from, index)
            }
            // Ignored on purpose. An append reply of an older term answers a
            // leader this node no longer is (a newer term made it step down
            // above).
            Message::AppendEntriesResponse { .. } => {}
            // A vote reply of another term, or to a node no longer standing:
            // the election it answers is over.
            Message::RequestVoteResponse { .. } => {}
            // A Probe or a commit notice of an older term: the sender no
            // longer leads, or never led this node's term.
            Message::Probe | Message::Commit { .. } => {}
        }
    }

    // ----- elections (§5.2, PreVote) ------------------------------------------

    fn reset_election_deadline(&mut self, now: Time) {
        let c = &self.config;
        let timeout = self
            .rng
            .random_range(c.election_timeout_min..=c.election_timeout_max);
        self.election_deadline = now + timeout;
    }

    /// A node that heard from a live leader recently, or leads itself,
    /// ignores candidates: they would only disturb it.
    fn refuses_votes(&self, now: Time) -> bool {
        let guarded = now < self.vote_guard_until && !self.config.has(Bug::NoVoteGuard);
        self.is_leader() || guarded
    }

    /// §5.4.1: whether a candidate whose log ends at (`index`, `last_term`)
    /// is at least as up-to-date as this node.
    fn up_to_date(&self, index: Index, last_term: Term) -> bool {
        self.config.has(Bug::NoUpToDateCheck)
            || self.persistent.log.is_behind_or_equal(index, last_term)
    }

    fn start_election(&mut self, now: Time, pre_vote: bool) {
        if self.refuses_votes(now) {
            // Only a forced timeout gets here this early; see `campaign`.
            self.election_deadline = self.vote_guard_until;
            return;
        }
        self.reset_election_deadline(now);
        let campaign = Campaign {
            votes: BTreeSet::from([self.id]),
            answered: BTreeSet::new(),
            max_commit: self.commit_index,
            resend_at: now + self.config.retry_timeout,
            backoff: self.config.retry_timeout,
        };
        if pre_vote {
            self.role = Role::PreCandidate(campaign);
        } else {
            self.persistent.current_term += 1;
            self.persistent.voted_for = Some(self.id);
            self.role = Role::Candidate(campaign);
        }
        self.request_votes(self.peers.clone());
        self.check_votes(now);
    }

    fn request_votes(&mut self, peers: Vec<NodeId>) {
        let (pre_vote, term) = match self.role {
            Role::PreCandidate(_) => (true, self.term() + 1),
            _ => (false, self.term()),
        };
        let log = &self.persistent.log;
        let message = Message::RequestVote {
            last_log_index: log.last_index(),
            last_log_term: log.last_term(),
            pre_vote,
        };
        for peer in peers {
            self.send(peer, term, message.clone());
        }
    }

    fn resend_vote_requests(&mut self, now: Time) {
        let cap = self.config.heartbeat_interval;
        let (Role::PreCandidate(c) | Role::Candidate(c)) = &mut self.role else {
            return;
        };
        if now < c.resend_at {
            return;
        }
        c.backoff = (c.backoff * 2).min(cap);
        c.resend_at = now + c.backoff;
        let silent = self.peers.iter().filter(|p| !c.answered.contains(p));
        let silent: Vec<NodeId> = silent.copied().collect();
        self.request_votes(silent);
    }

    fn on_pre_vote(&mut self, now: Time, from: NodeId, term: Term, index: Index, last_term: Term) {
        let granted =
            term > self.term() && !self.refuses_votes(now) && self.up_to_date(index, last_term);
        let reply_term = if granted { term } else { self.term() };
        self.send_vote(from, granted, true, reply_term);
    }

    fn on_pre_vote_granted(&mut self, now: Time, from: NodeId, term: Term) {
        if term == self.term() + 1 && matches!(self.role, Role::PreCandidate(_)) {
            self.on_vote(now, from, true, 0);
        }
    }

    fn on_request_vote(
        &mut self,
        now: Time,
        from: NodeId,
        term: Term,
        index: Index,
        last_term: Term,
    ) {
        let guarded = self.refuses_votes(now);
        let p = &self.persistent;
        // The guard holds whatever moved this node into `term`: a vote inside
        // it could cut short a lease this node acknowledged.
        let granted = term == p.current_term
            && !guarded
            && p.voted_for.is_none_or(|v| v == from)
            && self.up_to_date(index, last_term);
        if granted {
            self.persistent.voted_for = Some(from);
            if !self.config.has(Bug::NoTimerResetOnVote) {
                self.reset_election_deadline(now);
            }
        }
        self.send_vote(from, granted, false, self.term());
    }

    fn send_vote(&mut self, to: NodeId, granted: bool, pre_vote: bool, term: Term) {
        let message = Message::RequestVoteResponse {
            granted,
            pre_vote,
            commit_index: self.commit_index,
        };
        self.send(to, term, message);
    }

    /// An answer to this node's current (pre-)vote request.
    fn on_vote(&mut self, now: Time, from: NodeId, granted: bool, commit_index: Index) {
        let (Role::PreCandidate(c) | Role::Candidate(c)) = &mut self.role else {
            return;
        };
        c.answered.insert(from);
        if granted {
            c.votes.insert(from);
            c.max_commit = c.max_commit.max(commit_index);
            self.check_votes(now);
        }
    }

    fn check_votes(&mut self, now: Time) {
        let needed = majority(self.peers.len() + 1);
        match &self.role {
            Role::PreCandidate(c) if c.votes.len() >= needed => self.start_election(now, false),
            Role::Candidate(c) if c.votes.len() >= needed => {
                let floor = c.max_commit;
                self.become_leader(now, floor)
            }
            // Not enough votes yet, or no longer standing.
            _ => {}
        }
    }

    fn become_follower(&mut self, now: Time, term: Term, leader: Option<NodeId>) {
        if term > self.term() {
            self.persistent.current_term = term;
            self.persistent.voted_for = None;
        }
        if let Role::Leader(l) = std::mem::replace(&mut self.role, Role::Follower) {
            let unserved = l
                .pending_reads
                .into_iter()
                .map(|r| Output::Unserved(r.query));
            self.outputs.extend(unserved);
            self.reset_election_deadline(now);
        }
        self.leader = leader;
    }

    fn become_leader(&mut self, now: Time, answer_floor: Index) {
        let term = self.term();
        let term_start = self.persistent.log.append(Entry {
            term,
            command: None,
        });
        let progress = self
            .peers
            .iter()
            .map(|&p| (p, Progress::new(term_start - 1, self.config.retry_timeout)))
            .collect();
        self.role = Role::Leader(Box::new(LeaderState {
            progress,
            elected_at: now,
            term_start,
            answer_floor: answer_floor.max(self.commit_index),
            pending_reads: Vec::new(),
            last_broadcast: now,
            stall_since: Some(now),
            flush_due: None,
            round_due: false,
        }));
        self.leader = Some(self.id);
        self.led_terms.insert(term);
        self.forward_retry = (Time::MAX, 0);
        let orphans = std::mem::take(&mut self.forwarding);
        for command in orphans {
            self.persistent.log.append(Entry {
                term,
                command: Some(command),
            });
        }
        for peer in self.peers.clone() {
            self.send_append(now, peer);
        }
        self.advance_commit(now);
    }

    // ----- replication (§5.3) -------------------------------------------------

    fn on_append_entries(
        &mut self,
        now: Time,
        from: NodeId,
        term: Term,
        (prev_index, prev_term, leader_commit, stamp): (Index, Term, Index, Time),
        entries: Vec<Entry<S::Command>>,
    ) {
        if term < self.term() && !self.config.has(Bug::AcceptStaleTerm) {
            let reply = Message::AppendEntriesResponse {
                index: 0,
                success: false,
                conflict_term: None,
                stamp,
            };
            return self.send(from, self.term(), reply);
        }
        debug_assert!(
            !(self.is_leader() && term == self.term()) || self.config.bug.is_some(),
            "Election Safety: S{} and S{} both lead term {term}",
            self.id + 1,
            from + 1
        );
        if !matches!(self.role, Role::Follower) {
            self.become_follower(now, term, Some(from));
        }
        self.leader = Some(from);
        self.last_leader_contact = Some(now);
        self.vote_guard_until = now + self.config.election_timeout_min;
        self.reset_election_deadline(now);

        let log = &self.persistent.log;
        let reply = match log.term(prev_index) {
            None => Message::AppendEntriesResponse {
                index: log.last_index() + 1,
                success: false,
                conflict_term: None,
                stamp,
            },
            Some(t) if t != prev_term => Message::AppendEntriesResponse {
                index: log.first_index_of_term_at(prev_index),
                success: false,
                conflict_term: Some(t),
                stamp,
            },
            Some(_) if self.conflicts_with_committed(prev_index, &entries) => {
                // No legitimate leader conflicts with a committed entry
                // (Leader Completeness): keep the committed prefix, refuse.
                Message::AppendEntriesResponse {
                    index: self.commit_index + 1,
                    success: false,
                    conflict_term: None,
                    stamp,
                }
            }
            Some(_) => {
                let removed = if self.config.has(Bug::KeepConflicts) {
                    self.persistent
                        .log
                        .merge_keeping_suffix(prev_index, &entries);
                    Vec::new()
                } else {
                    self.persistent.log.merge(prev_index, &entries)
                };
                self.forwarding
                    .retain(|c| !entries.iter().any(|e| e.command.as_ref() == Some(c)));
                self.forward_orphans(now, removed);
                let last_new = prev_index + entries.len() as Index;
                if self.leader_match.0 != term {
                    self.leader_match = (term, 0);
                }
                // What matches the leader never reaches past the log (a
                // truncation can shorten it).
                let matched = self.leader_match.1.max(last_new);
                self.leader_match.1 = matched.min(self.persistent.log.last_index());
                let vouched = if self.config.has(Bug::UncappedFollowerCommit) {
                    self.persistent.log.last_index()
                } else {
                    last_new
                };
                if leader_commit > self.commit_index {
                    self.commit_index = self.commit_index.max(leader_commit.min(vouched));
                    self.apply_committed();
                }
                Message::AppendEntriesResponse {
                    index: last_new,
                    success: true,
                    conflict_term: None,
                    stamp,
                }
            }
        };
        self.send(from, self.term(), reply);
    }

    /// Whether `entries` after `prev` would replace an entry this node
    /// knows is committed.
    fn conflicts_with_committed(&self, prev: Index, entries: &[Entry<S::Command>]) -> bool {
        let log = &self.persistent.log;
        let first = log.first_conflict(prev, entries);
        first.is_some_and(|i| i <= self.commit_index)
    }

    /// The leader committed up to `index`: commit what this follower holds
    /// of it (only entries known to match the leader's log).
    fn on_commit_notice(&mut self, now: Time, from: NodeId, index: Index) {
        if !matches!(self.role, Role::Follower) || self.leader != Some(from) {
            return;
        }
        self.last_leader_contact = Some(now);
        let (term, matched) = self.leader_match;
        let known = if term == self.term() { matched } else { 0 };
        let commit = index.min(known).min(self.persistent.log.last_index());
        if commit > self.commit_index {
            self.commit_index = commit;
            self.apply_committed();
        }
    }

    /// Hands commands this node proposed as leader, whose entries a later
    /// leader overwrote, to that leader.
    fn forward_orphans(&mut self, now: Time, removed: Vec<Entry<S::Command>>) {
        let before = self.forwarding.len();
        let orphans = removed
            .into_iter()
            .filter(|e| self.led_terms.contains(&e.term))
            .filter_map(|e| e.command);
        self.forwarding.extend(orphans);
        if self.forwarding.len() > before {
            self.forward_retry = (now, self.config.retry_timeout);
            self.resend_forward(now);
        }
    }

    /// Sends the commands still being handed over to the leader, if one is
    /// known, and sets the next retry; stops once none is left.
    fn resend_forward(&mut self, now: Time) {
        let sm = &self.state_machine;
        self.forwarding.retain(|c| !sm.applied(c));
        if self.forwarding.is_empty() {
            self.forward_retry = (Time::MAX, 0);
            return;
        }
        let wait = self.forward_retry.1;
        self.forward_retry = (now + wait, (wait * 2).min(self.config.heartbeat_interval));
        if let Some(leader) = self.leader.filter(|&l| l != self.id) {
            let commands = self.forwarding.clone();
            self.send(leader, self.term(), Message::Forward { commands });
        }
    }

    /// Proposes handed-over commands, except those already applied or
    /// waiting in the log (a Forward is sent again until the commands come
    /// back, so the same ones can arrive many times).
    fn on_forward(&mut self, now: Time, commands: Vec<S::Command>) {
        if self.is_leader() {
            let log = &self.persistent.log;
            let pending = log.slice(self.commit_index + 1, log.last_index());
            let fresh: Vec<S::Command> = commands
                .into_iter()
                .filter(|c| !self.state_machine.applied(c))
                .filter(|c| !pending.iter().any(|e| e.command.as_ref() == Some(c)))
                .collect();
            for command in fresh {
                let _ = self.propose(now, command);
            }
        } else if let Some(leader) = self.leader.filter(|&l| l != self.id) {
            self.send(leader, self.term(), Message::Forward { commands });
        }
    }

    fn on_append_response(
        &mut self,
        now: Time,
        from: NodeId,
        index: Index,
        success: bool,
        conflict_term: Option<Term>,
        stamp: Time,
    ) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let Some(progress) = l.progress.get_mut(&from) else {
            return;
        };
        if success {
            let stamp = if self.config.has(Bug::LeaseFromAck) {
                now
            } else {
                stamp
            };
            progress.acknowledged(index, stamp, self.config.retry_timeout);
            // A follower a full batch or more behind gets the next batch at
            // once, not one per heartbeat (if new entries go to it at once).
            // Fewer entries wait for the next proposal or heartbeat, which
            // batches them with whatever else comes.
            let last = self.persistent.log.last_index();
            let batch = self.config.max_append_entries as Index;
            let more = progress.next_index + batch <= last + 1 && progress.inflight_since.is_none();
            let streams = more && eager_peers(self.config.fanout, l).contains(&from);
            self.advance_commit(now);
            self.serve_reads();
            if streams {
                self.send_append(now, from);
            }
        } else {
            let log = &self.persistent.log;
            let next = conflict_term
                .and_then(|t| log.last_index_of_term(t))
                .map_or(index, |i| i + 1);
            if progress.rejected(next.max(1), stamp, now) {
                self.send_append(now, from);
            }
        }
    }

    /// Sends AppendEntries where due: new entries to the eager followers (to
    /// all if the commit stalls), unacknowledged ones again after the retry
    /// timeout, and a heartbeat to anyone not sent to for an interval.
    fn replicate(&mut self, now: Time) {
        let (retry, heartbeat) = (self.config.retry_timeout, self.config.heartbeat_interval);
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        for p in l.progress.values_mut() {
            p.rewind_if_stale(now, heartbeat);
        }
        let stalled = l.stall_since.is_some_and(|t| now >= t + 2 * retry);
        if stalled {
            l.stall_since = Some(now);
        }
        let last = self.persistent.log.last_index();
        let eager = eager_peers(self.config.fanout, l);
        let due: Vec<NodeId> = l
            .progress
            .iter()
            .filter(|(id, p)| {
                let heartbeat_due = p.last_sent.is_none_or(|t| now >= t + heartbeat);
                let urgent = stalled || eager.contains(id);
                heartbeat_due || (urgent && p.has_unsent(last))
            })
            .map(|(&id, _)| id)
            .collect();
        for peer in due {
            self.send_append(now, peer);
        }
    }

    fn send_append(&mut self, now: Time, peer: NodeId) {
        let term = self.term();
        let c = &self.config;
        let (commit, max, max_bytes, cap) = (
            self.commit_index,
            c.max_append_entries as Index,
            c.max_append_bytes,
            c.heartbeat_interval,
        );
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let Some(progress) = l.progress.get_mut(&peer) else {
            return;
        };
        progress.rewind_if_stale(now, cap);
        let log = &self.persistent.log;
        let prev_log_index = progress.next_index - 1;
        let candidates = log.slice(progress.next_index, prev_log_index + max);
        let entries = candidates[..batch_len::<S>(candidates, max_bytes)].to_vec();
        progress.sent(now, prev_log_index + entries.len() as Index);
        let message = Message::AppendEntries {
            prev_log_index,
            prev_log_term: log.term(prev_log_index).unwrap_or(0),
            entries,
            leader_commit: commit,
            stamp: now,
        };
        self.send(peer, term, message);
    }

    // ----- commitment (§5.3, §5.4.2) and the state machine --------------------

    fn advance_commit(&mut self, now: Time) {
        let term = self.term();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let log = &self.persistent.log;
        let mut matches: Vec<Index> = l.progress.values().map(|p| p.match_index).collect();
        matches.push(log.last_index());
        let candidate = quorum_value(&mut matches);
        // Only entries of the current term are committed by counting (§5.4.2).
        let counts = log.term(candidate) == Some(term) || self.config.has(Bug::CommitOldTerms);
        if candidate <= self.commit_index || !counts {
            return;
        }
        self.commit_index = candidate;
        l.stall_since = (candidate < log.last_index()).then_some(now);
        let holders: Vec<NodeId> = l
            .progress
            .iter()
            .filter(|(_, p)| p.match_index >= candidate)
            .map(|(&id, _)| id)
            .collect();
        self.apply_committed();
        if self.config.commit_notice {
            for peer in holders {
                self.send(peer, term, Message::Commit { index: candidate });
            }
        }
    }

    fn apply_committed(&mut self) {
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let entry = self.persistent.log.get(self.last_applied);
            let Some(command) = entry.and_then(|e| e.command.as_ref()) else {
                continue;
            };
            let reply = self.state_machine.apply(command);
            let answers = match &self.role {
                Role::Leader(l) => self.last_applied > l.answer_floor,
                _ => false,
            };
            if let Some(reply) = reply.filter(|_| answers) {
                self.outputs.push(Output::Reply(reply));
            }
        }
    }

    // ----- reads, leases and CheckQuorum --------------------------------------

    fn lease_valid(&self, now: Time) -> bool {
        self.lease_until().is_some_and(|until| now < until)
    }

    /// With lease reads, until when (on this node's clock) this leader may
    /// serve reads without asking anyone: a lease after the newest heartbeat
    /// stamp a majority acknowledged. `None` unless leading with leases.
    pub fn lease_until(&self) -> Option<Time> {
        match &self.role {
            Role::Leader(l) if self.config.read_mode == ReadMode::Lease => {
                Some(majority_stamp(l, 0).saturating_add(self.config.lease_duration()))
            }
            _ => None,
        }
    }

    fn lost_quorum(&self, now: Time) -> bool {
        match &self.role {
            Role::Leader(l) => {
                let stamp = majority_stamp(l, l.elected_at);
                now >= stamp.saturating_add(self.config.election_timeout_max)
            }
            _ => false,
        }
    }

    fn serve_reads(&mut self) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let confirmed = majority_stamp(l, 0);
        let commit = self.commit_index;
        let (ready, waiting) = std::mem::take(&mut l.pending_reads)
            .into_iter()
            .partition(|r| r.stamp <= confirmed && r.index <= commit);
        l.pending_reads = waiting;
        let ready: Vec<PendingRead<S::Query>> = ready;
        for read in ready {
            let reply = self.state_machine.query(&read.query);
            self.outputs.push(Output::Reply(reply));
        }
    }

    fn send(&mut self, to: NodeId, term: Term, message: Message<S::Command>) {
        self.outputs.push(Output::Send(Envelope {
            from: self.id,
            to,
            term,
            message,
        }));
    }
}

/// The newest stamp that a majority acknowledged, the leader counting as
/// having acknowledged everything; `unacked` stands in for followers that
/// have not answered yet this term.
fn majority_stamp<Q>(l: &LeaderState<Q>, unacked: Time) -> Time {
    let mut stamps: Vec<Time> = l
        .progress
        .values()
        .map(|p| p.acked_stamp.unwrap_or(unacked))
        .collect();
    stamps.push(Time::MAX);
    quorum_value(&mut stamps)
}

/// The followers a leader sends new entries to at once: all of them, or
/// (with [`Fanout::Quorum`]) the ones that answered most recently, as many as
/// a majority needs besides the leader.
fn eager_peers<Q>(fanout: Fanout, l: &LeaderState<Q>) -> Vec<NodeId> {
    let mut ranked: Vec<(&NodeId, &Progress)> = l.progress.iter().collect();
    if fanout == Fanout::Quorum {
        ranked.sort_by_key(|(id, p)| (std::cmp::Reverse(p.acked_stamp), **id));
        ranked.truncate(majority(l.progress.len() + 1) - 1);
    }
    ranked.into_iter().map(|(&id, _)| id).collect()
}

/// How many of `entries` fit in one AppendEntries of about `max_bytes`
/// (always at least one, so that a large entry still goes out).
fn batch_len<S: StateMachine>(entries: &[Entry<S::Command>], max_bytes: usize) -> usize {
    let mut total = 0;
    let fitting = entries.iter().take_while(|e| {
        total += e.command.as_ref().map_or(8, S::command_size);
        total <= max_bytes
    });
    fitting.count().max(1).min(entries.len())
}
