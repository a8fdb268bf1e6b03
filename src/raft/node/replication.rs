//! Replication as a follower sees it (§5.3): the consistency check,
//! conflict truncation, the commit index a leader vouches for, applying
//! committed entries, and handing a deposed leader's lost proposals on
//! (`Forward`, beyond the paper).
//!
//! The leader's side of replication lives in [`super::leader`].

use super::{ForwardRetry, LeaderMatch, Node, Output, Role};
use crate::raft::log::Entry;
use crate::raft::message::{AppendEntries, AppendEntriesResponse, AppendOutcome, Message};
use crate::raft::reason::{Reason, Rejection};
use crate::raft::{Bug, Index, NodeId, StateMachine, Term, Time};

impl<S: StateMachine> Node<S> {
    /// AppendEntries (Figure 2, "receiver implementation"): refuse a stale
    /// leader, follow a current one, run the consistency check and merge.
    pub(super) fn on_append_entries(
        &mut self,
        now: Time,
        from: NodeId,
        term: Term,
        append: AppendEntries<S::Command>,
    ) {
        let stamp = append.stamp;
        if term < self.term() && !self.config.has(Bug::AcceptStaleTerm) {
            let why = Rejection::StaleTerm { ours: self.term() };
            self.explain(|_| Reason::AppendRejected { leader: from, why });
            let stale = AppendOutcome::Refused { next_index: 0 };
            return self.reply_append(from, stale, stamp);
        }
        debug_assert!(
            !(self.is_leader() && term == self.term()) || self.config.bug.is_some(),
            "Election Safety: S{} and S{} both lead term {term}",
            self.id + 1,
            from + 1
        );
        self.follow(now, term, from);
        let has_entries = !append.entries.is_empty();
        let (prev, prev_term) = (append.prev_log_index, append.prev_log_term);
        let outcome = self.check_and_merge(now, term, from, append);
        // A heartbeat that matched says nothing new: only new entries and
        // refusals are explained.
        if has_entries || !outcome.is_match() {
            self.explain_append(from, outcome, prev, prev_term);
        }
        self.reply_append(from, outcome, stamp);
    }

    fn explain_append(
        &mut self,
        from: NodeId,
        outcome: AppendOutcome,
        prev: Index,
        prev_term: Term,
    ) {
        self.explain(|n| {
            let why = match outcome {
                AppendOutcome::Matched { index } => {
                    return Reason::AppendAccepted {
                        leader: from,
                        matched: index,
                    };
                }
                AppendOutcome::LogTooShort { .. } => Rejection::NoEntry {
                    index: prev,
                    last: n.persistent.log.last_index(),
                },
                AppendOutcome::Conflict { term, .. } => Rejection::TermMismatch {
                    index: prev,
                    ours: term,
                    theirs: prev_term,
                },
                AppendOutcome::Refused { .. } => Rejection::WouldOverwriteCommitted {
                    commit: n.commit_index,
                },
            };
            Reason::AppendRejected { leader: from, why }
        });
    }

    fn reply_append(&mut self, to: NodeId, outcome: AppendOutcome, stamp: Time) {
        let reply = AppendEntriesResponse { outcome, stamp };
        self.send(to, self.term(), Message::AppendEntriesResponse(reply));
    }

    /// `from` leads this node's term: follow it, and restart the election
    /// timer and the vote guard.
    fn follow(&mut self, now: Time, term: Term, from: NodeId) {
        if !matches!(self.role, Role::Follower) {
            self.become_follower(now, term, Some(from));
        }
        self.leader = Some(from);
        self.followed = Some(from);
        self.last_leader_contact = Some(now);
        self.vote_guard_until = now + self.config.election_timeout_min;
        self.reset_election_deadline(now);
    }

    /// The consistency check (§5.3), then the merge if it passes.
    fn check_and_merge(
        &mut self,
        now: Time,
        term: Term,
        leader: NodeId,
        append: AppendEntries<S::Command>,
    ) -> AppendOutcome {
        let log = &self.persistent.log;
        let prev = append.prev_log_index;
        match log.term(prev) {
            None => AppendOutcome::LogTooShort {
                next_index: log.last_index() + 1,
            },
            Some(t) if t != append.prev_log_term => AppendOutcome::Conflict {
                term: t,
                first_index: log.first_index_of_term_at(prev),
            },
            // No legitimate leader conflicts with a committed entry (Leader
            // Completeness): keep the committed prefix, refuse.
            Some(_) if self.conflicts_with_committed(prev, &append.entries) => {
                AppendOutcome::Refused {
                    next_index: self.commit_index + 1,
                }
            }
            Some(_) => AppendOutcome::Matched {
                index: self.merge(now, term, leader, append),
            },
        }
    }

    /// Appends the leader's entries after `prev_log_index`, dropping any
    /// that conflict (§5.3), and commits what the leader vouches for.
    /// Returns the index up to which this log now matches the leader's.
    fn merge(
        &mut self,
        now: Time,
        term: Term,
        leader: NodeId,
        append: AppendEntries<S::Command>,
    ) -> Index {
        let AppendEntries {
            prev_log_index: prev,
            entries,
            leader_commit,
            ..
        } = append;
        let conflict = self.persistent.log.first_conflict(prev, &entries);
        let removed = if self.config.has(Bug::KeepConflicts) {
            self.persistent.log.merge_keeping_suffix(prev, &entries);
            Vec::new()
        } else {
            self.persistent.log.merge(prev, &entries)
        };
        if let (Some(from), false) = (conflict, removed.is_empty()) {
            let terms = removed.iter().map(|e| e.term).collect();
            let to = from + removed.len() as Index - 1;
            self.explain(|_| Reason::Truncated {
                leader,
                from,
                to,
                terms,
            });
        }
        self.forwarding
            .retain(|c| !entries.iter().any(|e| e.command.as_ref() == Some(c)));
        self.forward_orphans(now, removed);
        let last_new = prev + entries.len() as Index;
        if self.leader_match.term != term {
            self.leader_match = LeaderMatch { term, index: 0 };
        }
        // What matches the leader never reaches past the log (a truncation
        // can shorten it).
        let matched = self.leader_match.index.max(last_new);
        self.leader_match.index = matched.min(self.persistent.log.last_index());
        let vouched = if self.config.has(Bug::UncappedFollowerCommit) {
            self.persistent.log.last_index()
        } else {
            last_new
        };
        if leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(leader_commit.min(vouched));
            self.apply_committed();
        }
        last_new
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
    pub(super) fn on_commit_notice(&mut self, now: Time, from: NodeId, index: Index) {
        if !matches!(self.role, Role::Follower) || self.leader != Some(from) {
            return;
        }
        self.last_leader_contact = Some(now);
        let LeaderMatch {
            term,
            index: matched,
        } = self.leader_match;
        let known = if term == self.term() { matched } else { 0 };
        let commit = index.min(known).min(self.persistent.log.last_index());
        if commit > self.commit_index {
            self.commit_index = commit;
            self.apply_committed();
        }
    }

    /// Hands commands this node proposed as leader, whose entries a later
    /// leader overwrote, to that leader.
    pub(super) fn forward_orphans(&mut self, now: Time, removed: Vec<Entry<S::Command>>) {
        if !self.config.forward {
            return;
        }
        let before = self.forwarding.len();
        let orphans = removed
            .into_iter()
            .filter(|e| self.led_terms.contains(&e.term))
            .filter_map(|e| e.command);
        self.forwarding.extend(orphans);
        let commands = self.forwarding.len() - before;
        if commands > 0 {
            let leader = self.leader.filter(|&l| l != self.id);
            self.explain(|_| Reason::HandedOver { leader, commands });
            self.forward_retry = ForwardRetry {
                at: now,
                wait: self.config.retry_timeout,
            };
            self.resend_forward(now);
        }
    }

    /// Sends the commands still being handed over to the leader, if one is
    /// known, and sets the next retry; stops once none is left.
    pub(super) fn resend_forward(&mut self, now: Time) {
        let sm = &self.state_machine;
        self.forwarding.retain(|c| !sm.applied(c));
        if self.forwarding.is_empty() {
            self.forward_retry = ForwardRetry::IDLE;
            return;
        }
        let wait = self.forward_retry.wait;
        self.forward_retry = ForwardRetry {
            at: now + wait,
            wait: (wait * 2).min(self.config.heartbeat_interval),
        };
        if let Some(leader) = self.leader.filter(|&l| l != self.id) {
            let commands = self.forwarding.clone();
            self.send(leader, self.term(), Message::Forward { commands });
        }
    }

    /// Proposes handed-over commands, except those already applied or
    /// waiting in the log (a Forward is sent again until the commands come
    /// back, so the same ones can arrive many times).
    pub(super) fn on_forward(&mut self, now: Time, from: NodeId, commands: Vec<S::Command>) {
        if self.is_leader() {
            let log = &self.persistent.log;
            let pending = log.slice(self.commit_index + 1, log.last_index());
            let fresh: Vec<S::Command> = commands
                .into_iter()
                .filter(|c| !self.state_machine.applied(c))
                .filter(|c| !pending.iter().any(|e| e.command.as_ref() == Some(c)))
                .collect();
            if !fresh.is_empty() {
                let commands = fresh.len();
                self.explain(|_| Reason::TookOver { from, commands });
            }
            for command in fresh {
                let _ = self.propose(now, command);
            }
        } else if let Some(leader) = self.leader.filter(|&l| l != self.id) {
            self.send(leader, self.term(), Message::Forward { commands });
        }
    }

    pub(super) fn apply_committed(&mut self) {
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
}
