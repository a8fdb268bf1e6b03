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

mod election;
mod leader;
mod replication;

use super::log::Log;
use super::message::{AppendEntriesResponse, Envelope, Message};
use super::reason::{Reason, StepDown};
use super::{Bug, Config, Index, NodeId, ReadMode, StateMachine, Term, Time};
use election::Campaign;
use leader::LeaderState;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where a node's RNG seed puts its ID (above any seed bits a caller is
/// likely to vary), so that nodes given the same seed draw apart.
const SEED_ID_SHIFT: u32 = 48;

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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// What a node asks its caller to do.
#[derive(Clone, Debug)]
pub enum Output<S: StateMachine> {
    Send(Envelope<S::Command>),
    /// An answer for a client: from applying a committed command (leaders
    /// only) or from serving a read.
    Reply(S::Reply),
    /// Why the node just did something (with [`Config::explain`]).
    Explain(Reason),
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

/// How far a follower's log is known to match its leader's: up to `index`,
/// for the leader of `term` (from the AppendEntries it accepted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct LeaderMatch {
    term: Term,
    index: Index,
}

/// When to hand the forwarded commands over again (`at`), and the wait
/// after that (doubling up to a heartbeat interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ForwardRetry {
    at: Time,
    wait: Time,
}

impl ForwardRetry {
    /// Nothing to hand over.
    const IDLE: ForwardRetry = ForwardRetry {
        at: Time::MAX,
        wait: 0,
    };
}

#[derive(Clone, Hash)]
enum Role<Q> {
    Follower,
    PreCandidate(Campaign),
    Candidate(Campaign),
    Leader(Box<LeaderState<Q>>),
}

/// Plain data: the explorer clones a node to branch its search.
#[derive(Clone)]
pub struct Node<S: StateMachine> {
    id: NodeId,
    peers: Vec<NodeId>,
    config: Config,
    persistent: Persistent<S::Command>,
    commit_index: Index,
    last_applied: Index,
    role: Role<S::Query>,
    leader: Option<NodeId>,
    /// The last other node this one followed as leader, kept through
    /// elections (and unchanged while this node leads): if this node wins,
    /// its predecessor ([`crate::raft::CommitNotice::AfterFailover`]).
    followed: Option<NodeId>,
    last_leader_contact: Option<Time>,
    /// No vote for another candidate before this (thesis §4.2.3): a leader
    /// was heard from less than a minimum election timeout ago.
    vote_guard_until: Time,
    election_deadline: Time,
    /// When this follower last asked its leader for a sign of life.
    last_probe: Option<Time>,
    leader_match: LeaderMatch,
    led_terms: BTreeSet<Term>,
    /// Commands this node proposed as leader whose entries a later leader
    /// overwrote, handed to the current leader with `Forward` and sent again
    /// until they show up in the entries that leader sends (a Forward can be
    /// lost like any message).
    forwarding: Vec<S::Command>,
    forward_retry: ForwardRetry,
    /// Election timeouts that fired (observed by the simulator's checks).
    timeouts: u64,
    rng: ChaCha8Rng,
    state_machine: S,
    outputs: Vec<Output<S>>,
}

/// Everything that decides what a node does next (the explorer's state
/// fingerprint). Leaves out its config, the same for every node of a run,
/// and its timeout count, which only the simulator's checks read; the RNG
/// counts by where its stream stands.
impl<S: StateMachine + std::hash::Hash> std::hash::Hash for Node<S>
where
    S::Query: std::hash::Hash,
{
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.persistent.hash(state);
        self.commit_index.hash(state);
        self.last_applied.hash(state);
        self.role.hash(state);
        self.leader.hash(state);
        self.followed.hash(state);
        self.last_leader_contact.hash(state);
        self.vote_guard_until.hash(state);
        self.election_deadline.hash(state);
        self.last_probe.hash(state);
        self.leader_match.hash(state);
        self.led_terms.hash(state);
        self.forwarding.hash(state);
        self.forward_retry.hash(state);
        self.rng.get_word_pos().hash(state);
        self.rng.get_seed().hash(state);
        self.state_machine.hash(state);
        self.outputs.len().hash(state);
    }
}

impl<S: StateMachine> Node<S> {
    /// A node that has never run. `peers` lists the cluster's members; the
    /// node's own `id` may be among them or not (it is left out), and
    /// duplicates count once. Every caller passes all members' IDs.
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
            followed: None,
            last_leader_contact: None,
            election_deadline: now,
            last_probe: None,
            leader_match: LeaderMatch::default(),
            led_terms: BTreeSet::new(),
            forwarding: Vec::new(),
            forward_retry: ForwardRetry::IDLE,
            timeouts: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ (u64::from(id) << SEED_ID_SHIFT)),
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
    /// Until when this node refuses candidates and holds back its own
    /// timeout, if the vote guard (thesis §4.2.3) holds at `now`.
    pub fn vote_guard(&self, now: Time) -> Option<Time> {
        let on = self.config.vote_guard && !self.is_leader();
        (on && now < self.vote_guard_until).then_some(self.vote_guard_until)
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
        let Some(leader) = self.leader.filter(|&l| l != self.id && self.config.probe) else {
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
        match &self.role {
            Role::Leader(l) => l.next_deadline(&self.config),
            Role::PreCandidate(c) | Role::Candidate(c) => self
                .election_deadline
                .min(c.resend_at)
                .min(self.forward_retry.at),
            Role::Follower => self.election_deadline.min(self.forward_retry.at),
        }
    }

    /// With lease reads, until when (on this node's clock) this leader may
    /// serve reads without asking anyone: a lease after the newest heartbeat
    /// stamp a majority acknowledged. `None` unless leading with leases.
    pub fn lease_until(&self) -> Option<Time> {
        match &self.role {
            Role::Leader(l) if self.config.read_mode == ReadMode::Lease => {
                Some(l.lease_until(&self.config))
            }
            _ => None,
        }
    }

    // ----- inputs -----------------------------------------------------------

    /// Time passes: election timeouts, heartbeats, retries, CheckQuorum.
    pub fn tick(&mut self, now: Time) {
        if !self.is_leader() {
            if now >= self.forward_retry.at {
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
        let lost = match &self.role {
            Role::Leader(l) => l.lost_quorum(now, &self.config),
            _ => false,
        };
        if self.config.check_quorum && lost {
            self.explain(|_| Reason::SteppedDown {
                why: StepDown::LostQuorum,
            });
            let term = self.term();
            self.become_follower(now, term, None);
            return;
        }
        self.flush(now);
        self.replicate(now);
    }

    /// Times out at once, as if the election timer fired (the playground's
    /// "time out" button, and leadership hand-over in tests). Inside the vote
    /// guard (a leader was heard from less than a minimum election timeout
    /// ago) the timeout is only brought forward to the guard's end: this node
    /// may be part of that leader's lease, and voting for itself now could
    /// elect a second leader while the first still serves reads.
    pub fn campaign(&mut self, now: Time) {
        if !self.is_leader() {
            let guard = if self.config.vote_guard {
                self.vote_guard_until
            } else {
                now
            };
            self.election_deadline = now.max(guard);
            self.tick(now);
        }
    }

    /// How many times this node's election timer fired since it started.
    pub fn election_timeouts(&self) -> u64 {
        self.timeouts
    }

    /// A client write: appended to the log if this node leads.
    pub fn propose(&mut self, now: Time, command: S::Command) -> Result<Index, NotLeader> {
        let not_leader = NotLeader {
            leader: self.leader,
        };
        self.propose_as_leader(now, command).ok_or(not_leader)
    }

    /// A client read, answered (now or later) with an [`Output::Reply`] if
    /// this node leads and stays leader, or an [`Output::Unserved`].
    pub fn read(&mut self, now: Time, query: S::Query) -> Result<(), NotLeader> {
        let not_leader = NotLeader {
            leader: self.leader,
        };
        self.read_as_leader(now, query).map_err(|_| not_leader)
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
            Message::RequestVote(r) if r.pre_vote => return self.on_pre_vote(now, from, term, r),
            Message::RequestVoteResponse(r) if r.pre_vote && r.granted => {
                return self.on_pre_vote_granted(now, from, term);
            }
            // Every other message may carry a newer term: handled below.
            _ => {}
        }
        if term > self.term() && !self.adopt_term(now, from, term, &message) {
            return;
        }
        let current = term == self.term();
        match message {
            Message::AppendEntries(append) => self.on_append_entries(now, from, term, append),
            Message::AppendEntriesResponse(AppendEntriesResponse { outcome, stamp }) if current => {
                self.on_append_response(now, from, outcome, stamp)
            }
            Message::RequestVote(r) => self.on_request_vote(now, from, term, r),
            // A vote that comes after the election was won still says what
            // the voter knew to be committed, and so answered.
            Message::RequestVoteResponse(r)
                if !r.pre_vote
                    && current
                    && matches!(self.role, Role::Candidate(_) | Role::Leader(_)) =>
            {
                self.on_vote(now, from, r.granted, r.commit_index)
            }
            Message::RequestVoteResponse(r)
                if r.pre_vote && matches!(self.role, Role::PreCandidate(_)) =>
            {
                self.on_vote(now, from, false, 0)
            }
            Message::Forward { commands } => self.on_forward(now, from, commands),
            Message::Probe if current => self.send_append(now, from),
            Message::Commit { index } if current => self.on_commit_notice(now, from, index),
            // Ignored on purpose. An append reply of an older term answers a
            // leader this node no longer is (a newer term made it step down
            // above).
            Message::AppendEntriesResponse(_) => {}
            // A vote reply of another term, or to a node no longer standing:
            // the election it answers is over.
            Message::RequestVoteResponse(_) => {}
            // A Probe or a commit notice of an older term: the sender no
            // longer leads, or never led this node's term.
            Message::Probe | Message::Commit { .. } => {}
        }
    }

    /// Figure 2, all servers: a message of a newer term makes this node a
    /// follower in that term (of its sender, if it is an AppendEntries).
    /// A vote request the vote guard refuses is answered instead, and the
    /// term kept (thesis §4.2.3). Returns whether the message is still to
    /// be handled.
    fn adopt_term(
        &mut self,
        now: Time,
        from: NodeId,
        term: Term,
        message: &Message<S::Command>,
    ) -> bool {
        if matches!(message, Message::RequestVote(_)) && self.refuses_votes(now) {
            let why = self.guard_denial();
            self.explain(|_| Reason::VoteDenied {
                candidate: from,
                term,
                pre_vote: false,
                why,
            });
            self.send_vote(from, false, false, self.term());
            return false;
        }
        if self.is_leader() {
            self.explain(|_| Reason::SteppedDown {
                why: StepDown::HigherTerm { from, term },
            });
        }
        let leader = matches!(message, Message::AppendEntries(_)).then_some(from);
        self.become_follower(now, term, leader);
        true
    }

    /// Reports why, if asked to ([`Config::explain`]); `reason` is only
    /// built then.
    fn explain(&mut self, reason: impl FnOnce(&Self) -> Reason) {
        if self.config.explain {
            let reason = reason(self);
            self.outputs.push(Output::Explain(reason));
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
