//! Elections (§5.2): timeouts, (pre-)candidates, votes, and stepping down.
//!
//! Owns the rules for granting a vote (one per term, §5.2; the candidate's
//! log at least as up-to-date, §5.4.1; none within a minimum election
//! timeout of hearing a leader, thesis §4.2.3), PreVote (thesis §9.6), and
//! the (pre-)candidate's tally. Winning hands over to
//! [`super::leader`]'s `become_leader`.

use super::{Node, Output, Role};
use crate::raft::message::{Message, RequestVote, RequestVoteResponse};
use crate::raft::quorum::majority;
use crate::raft::reason::{Denial, Position, Reason};
use crate::raft::{Bug, Index, NodeId, StateMachine, Term, Time};
use rand::RngExt;
use std::collections::BTreeSet;

/// A (pre-)candidate's tally.
#[derive(Clone, Hash)]
pub(super) struct Campaign {
    votes: BTreeSet<NodeId>,
    /// Peers that answered, granting or not.
    answered: BTreeSet<NodeId>,
    /// The largest commit index a voter reported.
    max_commit: Index,
    /// When to ask again the peers that have not answered (requests and
    /// answers can be lost), with the wait doubling each time.
    pub(super) resend_at: Time,
    backoff: Time,
}

impl<S: StateMachine> Node<S> {
    pub(super) fn reset_election_deadline(&mut self, now: Time) {
        let c = &self.config;
        let timeout = self
            .rng
            .random_range(c.election_timeout_min..=c.election_timeout_max);
        self.election_deadline = now + timeout;
    }

    /// A node that heard from a live leader recently, or leads itself,
    /// ignores candidates: they would only disturb it.
    pub(super) fn refuses_votes(&self, now: Time) -> bool {
        let guard_on = self.config.vote_guard && !self.config.has(Bug::NoVoteGuard);
        let guarded = guard_on && now < self.vote_guard_until;
        self.is_leader() || guarded
    }

    /// §5.4.1: whether a candidate whose log ends at (`index`, `last_term`)
    /// is at least as up-to-date as this node.
    fn up_to_date(&self, index: Index, last_term: Term) -> bool {
        self.config.has(Bug::NoUpToDateCheck)
            || self.persistent.log.is_behind_or_equal(index, last_term)
    }

    pub(super) fn start_election(&mut self, now: Time, pre_vote: bool) {
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
        let message = Message::RequestVote(RequestVote {
            last_log_index: log.last_index(),
            last_log_term: log.last_term(),
            pre_vote,
        });
        for peer in peers {
            self.send(peer, term, message.clone());
        }
    }

    /// Asks again the peers that have not answered, the wait doubling each
    /// time; the last time once it reaches a quarter of a heartbeat
    /// interval. A peer still silent then is down or cut off, not unlucky
    /// (at 30% loss each way, all eight tries to one peer fail about once
    /// in two hundred), and the next election timeout starts a new
    /// campaign anyway.
    pub(super) fn resend_vote_requests(&mut self, now: Time) {
        let last = self.config.heartbeat_interval / 4;
        let (Role::PreCandidate(c) | Role::Candidate(c)) = &mut self.role else {
            return;
        };
        if now < c.resend_at {
            return;
        }
        c.resend_at = if c.backoff >= last {
            Time::MAX
        } else {
            c.backoff *= 2;
            now + c.backoff
        };
        let silent = self.peers.iter().filter(|p| !c.answered.contains(p));
        let silent: Vec<NodeId> = silent.copied().collect();
        self.request_votes(silent);
    }

    /// PreVote (thesis §9.6): would this node vote in `term`? Changes
    /// nothing here.
    pub(super) fn on_pre_vote(&mut self, now: Time, from: NodeId, term: Term, r: RequestVote) {
        let denial = if term <= self.term() {
            Some(Denial::StaleTerm { ours: self.term() })
        } else if self.refuses_votes(now) {
            Some(self.guard_denial())
        } else {
            self.log_denial(r)
        };
        self.explain_vote(from, term, true, denial);
        let granted = denial.is_none();
        let reply_term = if granted { term } else { self.term() };
        self.send_vote(from, granted, true, reply_term);
    }

    /// Why this node refuses every candidate now: it leads, or it heard a
    /// leader within the vote guard.
    pub(super) fn guard_denial(&self) -> Denial {
        if self.is_leader() {
            Denial::Leading
        } else {
            Denial::VoteGuard {
                until: self.vote_guard_until,
                since_start: self.last_leader_contact.is_none(),
            }
        }
    }

    /// §5.4.1: `Some` if the candidate's log is behind this node's.
    fn log_denial(&self, r: RequestVote) -> Option<Denial> {
        let log = &self.persistent.log;
        let ours = Position {
            index: log.last_index(),
            term: log.last_term(),
        };
        let theirs = Position {
            index: r.last_log_index,
            term: r.last_log_term,
        };
        let behind = !self.up_to_date(theirs.index, theirs.term);
        behind.then_some(Denial::LogBehind { theirs, ours })
    }

    fn explain_vote(&mut self, candidate: NodeId, term: Term, pre_vote: bool, why: Option<Denial>) {
        self.explain(|_| match why {
            None => Reason::VoteGranted {
                candidate,
                term,
                pre_vote,
            },
            Some(why) => Reason::VoteDenied {
                candidate,
                term,
                pre_vote,
                why,
            },
        });
    }

    pub(super) fn on_pre_vote_granted(&mut self, now: Time, from: NodeId, term: Term) {
        if term == self.term() + 1 && matches!(self.role, Role::PreCandidate(_)) {
            self.on_vote(now, from, true, 0);
        }
    }

    /// RequestVote (§5.2, §5.4.1): one vote per term, to an up-to-date
    /// candidate, never inside the vote guard.
    pub(super) fn on_request_vote(&mut self, now: Time, from: NodeId, term: Term, r: RequestVote) {
        let p = &self.persistent;
        // The guard holds whatever moved this node into `term`: a vote inside
        // it could cut short a lease this node acknowledged.
        let denial = if term != p.current_term {
            Some(Denial::StaleTerm {
                ours: p.current_term,
            })
        } else if self.refuses_votes(now) {
            Some(self.guard_denial())
        } else if let Some(other) = p.voted_for.filter(|&v| v != from) {
            Some(Denial::AlreadyVoted { voted_for: other })
        } else {
            self.log_denial(r)
        };
        self.explain_vote(from, term, false, denial);
        let granted = denial.is_none();
        if granted {
            self.persistent.voted_for = Some(from);
            if !self.config.has(Bug::NoTimerResetOnVote) {
                self.reset_election_deadline(now);
            }
        }
        self.send_vote(from, granted, false, self.term());
    }

    pub(super) fn send_vote(&mut self, to: NodeId, granted: bool, pre_vote: bool, term: Term) {
        let message = Message::RequestVoteResponse(RequestVoteResponse {
            granted,
            pre_vote,
            commit_index: self.commit_index,
        });
        self.send(to, term, message);
    }

    /// An answer to this node's current (pre-)vote request, or to the
    /// election it has just won. Granted or not, what the voter knows
    /// committed was answered by an earlier leader (and is in this node's
    /// log if it wins, §5.4), so it raises the floor of what this node
    /// answers: a vote that comes after the election was won counts too.
    /// With commit notices going to one follower (see `advance_commit`),
    /// the successor learns a commit from that follower's vote, whichever
    /// vote came first.
    pub(super) fn on_vote(&mut self, now: Time, from: NodeId, granted: bool, commit_index: Index) {
        let c = match &mut self.role {
            Role::PreCandidate(c) | Role::Candidate(c) => c,
            Role::Leader(l) => {
                l.answer_floor = l.answer_floor.max(commit_index);
                return;
            }
            Role::Follower => return,
        };
        c.answered.insert(from);
        c.max_commit = c.max_commit.max(commit_index);
        if granted {
            c.votes.insert(from);
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

    pub(super) fn become_follower(&mut self, now: Time, term: Term, leader: Option<NodeId>) {
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
}
