//! The simulator's record of what happened, readable by tests and people.
//!
//! Plain data with a plain-language rendering ("S3 timed out; starts an
//! election for term 4"). Nodes are named S1..Sn (S1 is replica 0000).

use super::network::Loss;
use crate::kv::{Op, Put, Reply, Request, Response};
use crate::raft::time::as_secs;
use crate::raft::{
    AppendOutcome, Denial, Envelope, Index, Message, NodeId, ReadPath, Reason, Rejection, RoleKind,
    StepDown, Term, Time,
};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    /// Virtual microseconds.
    pub time: Time,
    pub kind: TraceKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TraceKind {
    Send {
        envelope: Envelope<Put>,
        loss: Option<Loss>,
    },
    Deliver {
        envelope: Envelope<Put>,
    },
    Lost {
        envelope: Envelope<Put>,
        loss: Loss,
    },
    Role {
        node: NodeId,
        from: RoleKind,
        role: RoleKind,
        term: Term,
    },
    Commit {
        node: NodeId,
        index: Index,
    },
    Request {
        to: NodeId,
        request: Request,
    },
    Response {
        from: NodeId,
        response: Response,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    Partition {
        groups: Vec<Vec<NodeId>>,
    },
    Cut {
        from: NodeId,
        to: NodeId,
    },
    Heal,
    /// From now on `node`'s clock runs `ppm` parts per million off real time.
    Clock {
        node: NodeId,
        ppm: i64,
    },
    /// Why `node` did something ([`Reason`]).
    Reason {
        node: NodeId,
        reason: Reason,
    },
}

/// "S3", for replica 2.
pub struct Name(pub NodeId);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S{}", self.0 as u32 + 1)
    }
}

/// A message as the trace names it: its kind and the fields that matter.
pub fn describe(m: &Message<Put>) -> String {
    match m {
        Message::AppendEntries(a) => {
            let after = format!("after {}@{}", a.prev_log_index, a.prev_log_term);
            let commit = a.leader_commit;
            match a.entries.len() {
                0 => format!("Heartbeat ({after}, commit {commit})"),
                n => format!("AppendEntries with {n} entries ({after}, commit {commit})"),
            }
        }
        Message::AppendEntriesResponse(r) => match r.outcome {
            AppendOutcome::Matched { index } => format!("AppendEntries reply (ok, index {index})"),
            AppendOutcome::Conflict { term, first_index } => format!(
                "AppendEntries reply (rejected, index {first_index}: conflicting term {term})"
            ),
            AppendOutcome::LogTooShort { next_index } => {
                format!("AppendEntries reply (rejected, index {next_index}: log too short)")
            }
            AppendOutcome::Refused { next_index } => {
                format!("AppendEntries reply (rejected, index {next_index})")
            }
        },
        Message::RequestVote(r) => {
            let what = if r.pre_vote { "PreVote" } else { "RequestVote" };
            format!(
                "{what} (last entry {}@{})",
                r.last_log_index, r.last_log_term
            )
        }
        Message::RequestVoteResponse(r) => {
            let what = if r.pre_vote { "pre-vote" } else { "vote" };
            let verdict = if r.granted { "granted" } else { "denied" };
            format!("{what} {verdict}")
        }
        Message::Forward { commands } => format!("Forward of {} commands", commands.len()),
        Message::Commit { index } => format!("Commit notice (up to {index})"),
        Message::Probe => "Probe".to_string(),
    }
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>10.6} {}",
            crate::raft::time::as_secs(self.time),
            self.kind
        )
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceKind::Send { envelope: e, loss } => {
                let fate = match loss {
                    Some(Loss::Dropped) => " (will be lost)",
                    Some(Loss::Partitioned) => " (link cut)",
                    _ => "",
                };
                let (from, to, what) = (Name(e.from), Name(e.to), describe(&e.message));
                write!(f, "{from} sends {to} {what}, term {}{fate}", e.term)
            }
            TraceKind::Deliver { envelope: e } => {
                let what = describe(&e.message);
                write!(f, "{} receives {what} from {}", Name(e.to), Name(e.from))
            }
            TraceKind::Lost { envelope: e, loss } => {
                let why = match loss {
                    Loss::Dropped => "dropped",
                    Loss::Partitioned => "cut off by a partition",
                    Loss::Dead => "undelivered: receiver is down",
                    Loss::SenderCrashed => "lost: its sender crashed before it left",
                    Loss::Overflow => "lost: the grader's socket was full",
                    Loss::Displaced => "lost: pushed off its link by a newer message",
                };
                let what = describe(&e.message);
                write!(f, "{what} from {} to {} {why}", Name(e.from), Name(e.to))
            }
            TraceKind::Role {
                node,
                from,
                role,
                term,
            } => {
                let n = Name(*node);
                match (from, role) {
                    (RoleKind::Leader, RoleKind::Follower) => {
                        write!(f, "{n} steps down; follower in term {term}")
                    }
                    (RoleKind::Follower, RoleKind::PreCandidate) => {
                        write!(f, "{n} timed out; asks for pre-votes for term {}", term + 1)
                    }
                    (_, RoleKind::PreCandidate) => {
                        write!(f, "{n} retries pre-votes for term {}", term + 1)
                    }
                    (RoleKind::Follower, RoleKind::Candidate) => {
                        write!(f, "{n} timed out; starts an election for term {term}")
                    }
                    (_, RoleKind::Candidate) => write!(f, "{n} starts an election for term {term}"),
                    (_, RoleKind::Leader) => write!(f, "{n} becomes leader of term {term}"),
                    (_, RoleKind::Follower) => write!(f, "{n} is a follower in term {term}"),
                }
            }
            TraceKind::Commit { node, index } => {
                write!(f, "{} commits up to index {index}", Name(*node))
            }
            TraceKind::Request { to, request: r } => {
                let op = match &r.op {
                    Op::Get { key } => format!("get {key}"),
                    Op::Put { key, value } => format!("put {key}={value}"),
                };
                write!(
                    f,
                    "client {} asks {} to {op} ({})",
                    r.client,
                    Name(*to),
                    r.mid
                )
            }
            TraceKind::Response { from, response: r } => {
                let what = match &r.reply {
                    Reply::Ok { value: None } => "ok".to_string(),
                    Reply::Ok { value: Some(v) } => format!("ok, value \"{v}\""),
                    Reply::Redirect => match r.leader {
                        Some(l) => format!("redirect to {}", Name(l)),
                        None => "redirect, leader unknown".to_string(),
                    },
                    Reply::Fail => "fail".to_string(),
                };
                write!(
                    f,
                    "{} answers client {} ({}): {what}",
                    Name(*from),
                    r.client,
                    r.mid
                )
            }
            TraceKind::Crash { node } => write!(f, "{} crashes", Name(*node)),
            TraceKind::Clock { node, ppm } => {
                let how = if *ppm < 0 { "slow" } else { "fast" };
                let percent = ppm.unsigned_abs() as f64 / 1e4;
                write!(
                    f,
                    "{}'s clock runs {percent}% {how} from now on",
                    Name(*node)
                )
            }
            TraceKind::Restart { node } => write!(f, "{} restarts", Name(*node)),
            TraceKind::Partition { groups } => {
                let groups: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        let names: Vec<String> = g.iter().map(|&n| Name(n).to_string()).collect();
                        format!("{{{}}}", names.join(","))
                    })
                    .collect();
                write!(f, "network partitioned: {} | the rest", groups.join(" | "))
            }
            TraceKind::Cut { from, to } => {
                write!(f, "link from {} to {} cut", Name(*from), Name(*to))
            }
            TraceKind::Heal => write!(f, "network healed"),
            TraceKind::Reason { node, reason } => {
                write!(f, "{} ({})", Because(*node, reason), reason.section())
            }
        }
    }
}

/// The sentence for a [`Reason`] of node `.0`, without its section.
struct Because<'a>(NodeId, &'a Reason);

impl fmt::Display for Because<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = Name(self.0);
        match self.1 {
            Reason::VoteGranted {
                candidate,
                term,
                pre_vote: false,
            } => write!(
                f,
                "{n} grants {} its vote for term {term}",
                Name(*candidate)
            ),
            Reason::VoteGranted {
                candidate, term, ..
            } => write!(
                f,
                "{n} would vote for {} in term {term}: pre-vote granted",
                Name(*candidate)
            ),
            Reason::VoteDenied {
                candidate,
                term,
                pre_vote,
                why,
            } => {
                let (c, what) = (
                    Name(*candidate),
                    if *pre_vote { "a pre-vote" } else { "its vote" },
                );
                write!(f, "{n} refuses {c} {what} for term {term}: ")?;
                match why {
                    Denial::StaleTerm { ours } => {
                        write!(f, "term {term} is not newer than its own term {ours}")
                    }
                    Denial::AlreadyVoted { voted_for } => {
                        write!(
                            f,
                            "it already voted for {} in term {term}",
                            Name(*voted_for)
                        )
                    }
                    Denial::LogBehind { theirs, ours } => write!(
                        f,
                        "the candidate's log is behind (last entry {}@{} against its {}@{})",
                        theirs.index, theirs.term, ours.index, ours.term
                    ),
                    Denial::VoteGuard {
                        until,
                        since_start: false,
                    } => write!(
                        f,
                        "it heard from a leader less than a minimum election timeout ago (vote guard until {:.3} s)",
                        as_secs(*until)
                    ),
                    Denial::VoteGuard {
                        until,
                        since_start: true,
                    } => write!(
                        f,
                        "it started less than a minimum election timeout ago and has heard no leader since: a leader it acknowledged before may still hold a lease (vote guard until {:.3} s)",
                        as_secs(*until)
                    ),
                    Denial::Leading => write!(f, "it is the leader"),
                }
            }
            Reason::AppendAccepted { leader, matched } => write!(
                f,
                "{n} accepts AppendEntries from {}: its log matches the leader's up to index {matched}",
                Name(*leader)
            ),
            Reason::AppendRejected { leader, why } => {
                write!(f, "{n} rejects AppendEntries from {}: ", Name(*leader))?;
                match why {
                    Rejection::StaleTerm { ours } => {
                        write!(f, "its term is older than {n}'s term {ours}")
                    }
                    Rejection::NoEntry { index, last } => {
                        write!(f, "no entry at index {index} (its log ends at {last})")
                    }
                    Rejection::TermMismatch {
                        index,
                        ours,
                        theirs,
                    } => write!(
                        f,
                        "term mismatch at index {index}: {n} has term {ours}, the leader {theirs}"
                    ),
                    Rejection::WouldOverwriteCommitted { commit } => write!(
                        f,
                        "the entries would replace entries {n} knows are committed (up to {commit})"
                    ),
                }
            }
            Reason::Truncated {
                leader,
                from,
                to,
                terms,
            } => {
                let mut distinct: Vec<Term> = terms.clone();
                distinct.dedup();
                let terms: Vec<String> = distinct.iter().map(Term::to_string).collect();
                let plural = if distinct.len() == 1 { "" } else { "s" };
                let (range, verb) = if from == to {
                    (format!("entry {from}"), "it conflicts")
                } else {
                    (format!("entries {from}-{to}"), "they conflict")
                };
                write!(
                    f,
                    "{n} drops {range} of term{plural} {}: {verb} with {}'s",
                    terms.join(", "),
                    Name(*leader)
                )
            }
            Reason::HandedOver {
                leader: Some(leader),
                commands,
            } => write!(
                f,
                "{n} hands {} of its dropped entries over to {}, the leader, so that their clients are answered",
                count(*commands, "command"),
                Name(*leader)
            ),
            Reason::HandedOver {
                leader: None,
                commands,
            } => write!(
                f,
                "{n} keeps {} of its dropped entries to hand over to the next leader it hears of",
                count(*commands, "command")
            ),
            Reason::TookOver { from, commands } => write!(
                f,
                "{n} appends {} that {} handed over",
                count(*commands, "command"),
                Name(*from)
            ),
            Reason::CommitAdvanced {
                index,
                holders,
                entry_term,
                term,
            } => {
                let names: Vec<String> = holders.iter().map(|h| Name(*h).to_string()).collect();
                let names = names.join(", ");
                if entry_term == term {
                    write!(
                        f,
                        "{n} commits up to {index}: {names} hold it and it is from the current term"
                    )
                } else {
                    write!(
                        f,
                        "{n} commits up to {index} by counting alone: {names} hold it, but it is from term {entry_term}, not the current term {term}, which the rule forbids"
                    )
                }
            }
            Reason::CommitHeldBack {
                index,
                entry_term,
                term,
            } => write!(
                f,
                "{n} does not commit index {index}: a majority holds it, but it is from term {entry_term}, not the current term {term}"
            ),
            Reason::SteppedDown {
                why: StepDown::HigherTerm { from, term },
            } => write!(
                f,
                "{n} steps down: {} is in the newer term {term}",
                Name(*from)
            ),
            Reason::SteppedDown {
                why: StepDown::LostQuorum,
            } => write!(
                f,
                "{n} steps down: no majority answered it for an election timeout (CheckQuorum)"
            ),
            Reason::ReadServed {
                via: ReadPath::Lease { until },
            } => write!(
                f,
                "{n} serves a read at once: its lease holds until {:.3} s",
                as_secs(*until)
            ),
            Reason::ReadServed {
                via: ReadPath::ReadIndex,
            } => write!(
                f,
                "{n} serves a read: a majority confirmed it still leads after the read arrived (ReadIndex)"
            ),
            Reason::ReadServed {
                via: ReadPath::Log { index },
            } => write!(
                f,
                "{n} serves a read through the log: its entry at index {index} committed"
            ),
        }
    }
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
