//! Scripted interaction tests: the paper's rules and this core's
//! extensions as stories, message by message (toydb's goldenscript, etcd's
//! datadriven).
//!
//! Each file in `tests/scripts/` is a story: `#` comments say what happens
//! and why, commands drive a [`Cluster`] in held-delivery mode (messages
//! between nodes wait until the script delivers or drops them), and the
//! text after each `---` is what the cluster's trace said. To write one, add
//! a file with commands and empty `---` blocks and a line to `scripts!`
//! below, run `UPDATE_GOLDENFILES=1 cargo test --test scripts`, and read the
//! output it wrote: it is the expected behaviour from then on. Rewrite the
//! same way when behaviour changes on purpose, and review the diff.
//!
//! Commands (nodes are numbered from 1, as S1..Sn):
//! - `cluster nodes=3 prevote=true checkquorum=true fanout=quorum|all
//!   read=lease|read_index|log commit_notice=never|always|after_failover
//!   vote_guard=true forward=true
//!   probe=true batch=64 seed=1 bug=NAME`: a new
//!   cluster (every key optional), at 1 s, when a node that started at 0 may
//!   first vote. Election timeouts 1 to 2 s, heartbeats every 100 ms,
//!   retries after 20 ms, hops of 1 ms for clients.
//! - `campaign N`: N's election timer fires now, or (inside its vote
//!   guard, a minimum election timeout after it last heard a leader) when
//!   the guard ends, time running until then.
//! - `tick MS`: time passes (timers fire; client requests and answers
//!   travel).
//! - `deliver [from=N] [to=N] [kind=KIND] [count=K]`: delivers held
//!   messages in send order (the first `count` that match);
//!   `drop` with the same filters loses them; `stabilize` delivers until
//!   none is left.
//! - `put N key=value [key=value...]`, `get N key`: a client asks node N
//!   (several puts arrive together, before N's next tick).
//! - `crash N`, `restart N`, `partition 1-2 3-4-5` (groups), `heal`.
//! - `status [N...]`, `log [N...]`, `held`: what the nodes hold.
//! - `explore bug=NAME [depth=D] [states=S] [start=fresh|leader]
//!   [requests=any|leaders] [link=K] [batch=E] [crashes=K] [puts=K] [gets=K]`: the
//!   explorer's shortest run that breaks a check, step by step (the
//!   replica's own timeouts, not the scripts'), or how many states it saw
//!   without finding one. A story of this kind keeps a counterexample: a
//!   change to the core or to the checks shows as a diff.

#![cfg(not(target_arch = "wasm32"))]

use goldenscript::{Argument, Command, Context};
use raftplay::kv::{Op, Put, Request};
use raftplay::raft::{
    Bug, CommitNotice, Config, Denial, Envelope, Fanout, NodeId, Position, ReadMode, ReadPath,
    Reason, Rejection, RoleKind, StepDown, time,
};
use raftplay::sim::{Cluster, ClusterOptions};
use std::error::Error;
use std::fmt::Write as _;

/// The client the scripts' requests come from.
const CLIENT: u16 = 100;

#[derive(Default)]
struct Runner {
    cluster: Option<Cluster>,
    /// Trace events already printed.
    printed: usize,
    next_mid: u64,
    violation_shown: bool,
}

type Res<T> = Result<T, Box<dyn Error>>;

fn node(text: &str) -> Res<NodeId> {
    let n: NodeId = text
        .parse()
        .map_err(|_| format!("not a node number: {text}"))?;
    n.checked_sub(1)
        .ok_or_else(|| "nodes are numbered from 1".into())
}

fn nodes(args: &[&str]) -> Res<Vec<NodeId>> {
    args.iter().map(|a| node(a)).collect()
}

/// The nodes named, or every node if none is.
fn named_or_all(ids: &[NodeId], c: &Cluster) -> Vec<NodeId> {
    if ids.is_empty() {
        (0..c.len() as NodeId).collect()
    } else {
        ids.to_vec()
    }
}

/// Held messages matching `from=`, `to=`, `kind=`, up to `count=`.
struct Filter {
    from: Option<NodeId>,
    to: Option<NodeId>,
    kind: Option<String>,
    count: usize,
}

impl Filter {
    fn parse(command: &Command) -> Res<Filter> {
        let mut args = command.consume_args();
        let from = args.take_key("from").map(node).transpose()?;
        let to = args.take_key("to").map(node).transpose()?;
        let kind = args.take_key("kind").map(str::to_string);
        let count = args.take_key("count").map(str::parse).transpose()?;
        args.reject_next()?;
        Ok(Filter {
            from,
            to,
            kind,
            count: count.unwrap_or(usize::MAX),
        })
    }

    fn matches(&self, e: &Envelope<Put>) -> bool {
        self.from.is_none_or(|f| f == e.from)
            && self.to.is_none_or(|t| t == e.to)
            && self
                .kind
                .as_deref()
                .is_none_or(|k| k == e.message.kind().name())
    }

    /// A picker for the first `count` held messages that match.
    fn picker(&self) -> impl FnMut(&Envelope<Put>) -> bool + '_ {
        let mut taken = 0;
        move |e| {
            let pick = taken < self.count && self.matches(e);
            taken += usize::from(pick);
            pick
        }
    }
}

impl Runner {
    fn cluster(&mut self) -> Res<&mut Cluster> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start with `cluster`".into())
    }

    fn create(&mut self, command: &Command) -> Res<()> {
        let mut args = command.consume_args();
        let flag = |v: Option<&str>, default: bool| -> Res<bool> {
            Ok(v.map(str::parse).transpose()?.unwrap_or(default))
        };
        let nodes = args.take_key("nodes").map(str::parse).transpose()?;
        let seed = args.take_key("seed").map(str::parse).transpose()?;
        let pre_vote = flag(args.take_key("prevote"), true)?;
        let check_quorum = flag(args.take_key("checkquorum"), true)?;
        let commit_notice = match args.take_key("commit_notice") {
            None => CommitNotice::Never,
            Some(text) => text.parse()?,
        };
        let vote_guard = flag(args.take_key("vote_guard"), true)?;
        let forward = flag(args.take_key("forward"), true)?;
        let probe = flag(args.take_key("probe"), true)?;
        let fanout = match args.take_key("fanout") {
            None | Some("quorum") => Fanout::Quorum,
            Some("all") => Fanout::All,
            Some(other) => return Err(format!("fanout is quorum or all, not {other}").into()),
        };
        let read_mode = match args.take_key("read") {
            None => ReadMode::Lease,
            Some(text) => text.parse()?,
        };
        let bug = args.take_key("bug").map(Bug::parse).transpose()?;
        let batch = args.take_key("batch").map(str::parse).transpose()?;
        args.reject_next()?;
        let raft = Config {
            election_timeout_min: time::from_millis(1_000.0),
            election_timeout_max: time::from_millis(2_000.0),
            heartbeat_interval: time::from_millis(100.0),
            retry_timeout: time::from_millis(20.0),
            pre_vote,
            check_quorum,
            read_mode,
            fanout,
            commit_notice,
            vote_guard,
            forward,
            probe,
            bug,
            max_append_entries: batch.unwrap_or(Config::default().max_append_entries),
            ..Config::default()
        };
        let options = ClusterOptions {
            nodes: nodes.unwrap_or(3),
            seed: seed.unwrap_or(1),
            raft,
            latency: (time::MILLISECOND, time::MILLISECOND),
            hold_messages: true,
            check_invariants: bug.is_none(),
            trace: true,
            ..ClusterOptions::default()
        };
        let guard = options.raft.election_timeout_min;
        let mut cluster = Cluster::new(options)?;
        // A node that just started waits a minimum election timeout before
        // it votes (see `Node::restart`): begin the story there.
        cluster.run_until(guard);
        self.cluster = Some(cluster);
        self.printed = 0;
        self.violation_shown = false;
        Ok(())
    }

    /// Sends the requests at once (they arrive together, before the
    /// node's next tick), then lets them travel.
    fn request(&mut self, to: NodeId, ops: Vec<Op>) -> Res<()> {
        for op in ops {
            self.next_mid += 1;
            let mid = format!("M{}", self.next_mid);
            let request = Request {
                client: CLIENT,
                mid,
                op,
            };
            self.cluster()?.request(to, request);
        }
        // A hop of 1 ms, then the node's next tick sends what they caused.
        let c = self.cluster()?;
        let until = c.now() + 2 * time::MILLISECOND;
        c.run_until(until);
        Ok(())
    }

    /// What happened since the last command, as the trace says it.
    fn news(&mut self, out: &mut String) -> Res<()> {
        let Some(c) = self.cluster.as_ref() else {
            return Ok(());
        };
        for e in &c.trace()[self.printed..] {
            writeln!(out, "{}", e.kind)?;
        }
        self.printed = c.trace().len();
        if let (Some(v), false) = (c.violation(), self.violation_shown) {
            writeln!(out, "SAFETY VIOLATION: {v}")?;
            self.violation_shown = true;
        }
        Ok(())
    }

    fn status(&mut self, ids: &[NodeId], out: &mut String) -> Res<()> {
        let c = self.cluster()?;
        let ids = named_or_all(ids, c);
        for id in ids {
            let name = format!("S{}", id + 1);
            let Some(n) = c.node(id) else {
                let p = c.persistent(id).ok_or("no such node")?;
                let last = p.log.last_index();
                let term = p.current_term;
                writeln!(out, "{name} down, term {term}, log {last}")?;
                continue;
            };
            let s = |v: Option<NodeId>| v.map_or("-".to_string(), |v| format!("S{}", v + 1));
            writeln!(
                out,
                "{name} {:?} term {}, voted {}, leader {}, commit {}, log {} (last term {})",
                n.role(),
                n.term(),
                s(n.voted_for()),
                s(n.leader()),
                n.commit_index(),
                n.log().last_index(),
                n.log().last_term()
            )?;
        }
        Ok(())
    }

    fn logs(&mut self, ids: &[NodeId], out: &mut String) -> Res<()> {
        let c = self.cluster()?;
        let ids = named_or_all(ids, c);
        for id in ids {
            let p = c.persistent(id).ok_or("no such node")?;
            let entries: Vec<String> = (1..=p.log.last_index())
                .map(|i| {
                    let e = p.log.get(i).expect("an entry per index");
                    match &e.command {
                        None => format!("{i}@{} noop", e.term),
                        Some(put) => format!("{i}@{} {}={}", e.term, put.key, put.value),
                    }
                })
                .collect();
            let commit = c.node(id).map_or(0, |n| n.commit_index());
            writeln!(
                out,
                "S{} (commit {commit}): {}",
                id + 1,
                entries.join(" | ")
            )?;
        }
        Ok(())
    }

    fn held(&mut self, out: &mut String) -> Res<()> {
        let c = self.cluster()?;
        for e in c.held() {
            let (from, to, kind) = (e.from + 1, e.to + 1, e.message.kind().name());
            writeln!(out, "S{from} -> S{to} {kind}, term {}", e.term)?;
        }
        Ok(())
    }

    fn deliver(&mut self, command: &Command, lose: bool) -> Res<()> {
        let filter = Filter::parse(command)?;
        let c = self.cluster()?;
        let n = if lose {
            c.drop_held(filter.picker())
        } else {
            c.deliver_held(filter.picker())
        };
        if n == 0 {
            return Err("no held message matches".into());
        }
        Ok(())
    }
}

impl goldenscript::Runner for Runner {
    type Command = Command;

    fn run(&mut self, command: &Command, _: &Context) -> Result<String, Box<dyn Error>> {
        let mut out = String::new();
        let positional: Vec<&str> = command
            .args
            .iter()
            .filter_map(|a| match a {
                Argument::Positional(v) => Some(v.as_str()),
                _ => None,
            })
            .collect();
        match command.name.as_str() {
            "cluster" => self.create(command)?,
            "campaign" => {
                let id = node(positional.first().ok_or("campaign N")?)?;
                let c = self.cluster()?;
                c.timeout(id)?;
                // Inside its vote guard the timer only moves to the guard's
                // end: let time run to it.
                let waiting = c.node(id).filter(|n| n.role() == RoleKind::Follower);
                if let Some(deadline) = waiting.map(|n| n.election_deadline()) {
                    c.run_until(deadline);
                }
            }
            "tick" => {
                let ms: f64 = positional.first().ok_or("tick MS")?.parse()?;
                let c = self.cluster()?;
                let until = c.now() + time::from_millis(ms);
                c.run_until(until);
            }
            "deliver" => self.deliver(command, false)?,
            "drop" => self.deliver(command, true)?,
            "stabilize" => {
                let c = self.cluster()?;
                let mut rounds = 0;
                while !c.held().is_empty() {
                    c.deliver_held(|_| true);
                    rounds += 1;
                    if rounds > 100 {
                        return Err("messages keep coming after 100 rounds".into());
                    }
                }
            }
            "put" => {
                let id = node(positional.first().ok_or("put N key=value")?)?;
                let mut args = command.consume_args();
                let mut ops = Vec::new();
                while let Some((key, value)) = args.next_key() {
                    let (key, value) = (key.to_string(), value.to_string());
                    ops.push(Op::Put { key, value });
                }
                if ops.is_empty() {
                    return Err("put N key=value...".into());
                }
                self.request(id, ops)?;
            }
            "get" => {
                let [n, key] = positional[..] else {
                    return Err("get N key".into());
                };
                let key = key.to_string();
                self.request(node(n)?, vec![Op::Get { key }])?;
            }
            "crash" => {
                let id = node(positional.first().ok_or("crash N")?)?;
                self.cluster()?.crash(id)?;
            }
            "restart" => {
                let id = node(positional.first().ok_or("restart N")?)?;
                self.cluster()?.restart(id)?;
            }
            "partition" => {
                let groups: Vec<Vec<NodeId>> = positional
                    .iter()
                    .map(|g| nodes(&g.split('-').collect::<Vec<_>>()))
                    .collect::<Res<_>>()?;
                self.cluster()?.partition(&groups)?;
            }
            "heal" => self.cluster()?.heal(),
            "status" => {
                self.news(&mut out)?;
                return self.status(&nodes(&positional)?, &mut out).map(|_| out);
            }
            "log" => {
                self.news(&mut out)?;
                return self.logs(&nodes(&positional)?, &mut out).map(|_| out);
            }
            "held" => {
                self.news(&mut out)?;
                return self.held(&mut out).map(|_| out);
            }
            "explore" => return explore(command),
            other => return Err(format!("unknown command {other}").into()),
        }
        self.news(&mut out)?;
        Ok(out)
    }
}

/// The `explore` command: searches, then prints the shortest trace.
fn explore(command: &Command) -> Result<String, Box<dyn Error>> {
    use raftplay::explore::{self, Options};
    let mut args = command.consume_args();
    let mut o = Options {
        threads: 2,
        ..Options::default()
    };
    o.raft.bug = args.take_key("bug").map(Bug::parse).transpose()?;
    let number = |v: Option<&str>| -> Res<Option<u64>> { Ok(v.map(str::parse).transpose()?) };
    if let Some(d) = number(args.take_key("depth"))? {
        o.depth = d as usize;
    }
    if let Some(s) = number(args.take_key("states"))? {
        o.max_states = s;
    }
    if let Some(text) = args.take_key("start") {
        o.start = text.parse()?;
    }
    if let Some(text) = args.take_key("requests") {
        o.requests = text.parse()?;
    }
    o.link_capacity = number(args.take_key("link"))?.map(|k| k as usize);
    if let Some(e) = number(args.take_key("batch"))? {
        o.raft.max_append_entries = e as usize;
    }
    for (key, budget) in [
        ("crashes", &mut o.crashes),
        ("puts", &mut o.puts),
        ("gets", &mut o.gets),
    ] {
        if let Some(k) = number(args.take_key(key))? {
            *budget = k as u32;
        }
    }
    args.reject_next()?;
    let report = explore::search(&o, |_| true)?;
    let mut out = String::new();
    let Some(found) = report.found else {
        writeln!(out, "no violation in {} states", report.states)?;
        return Ok(out);
    };
    let replayed = explore::replay(&o, &found.events)?;
    for (n, step) in replayed.steps.iter().enumerate() {
        writeln!(out, "step {}: {}", n + 1, step.what)?;
        for line in &step.lines {
            writeln!(out, "  {line}")?;
        }
    }
    writeln!(out, "VIOLATION {}", found.broken.what)?;
    Ok(out)
}

macro_rules! scripts {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() -> std::io::Result<()> {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/", stringify!($name));
            goldenscript::run(&mut Runner::default(), path)
        }
    )*};
}

scripts!(
    paper_lost_entry,
    no_vote_guard,
    commit_held_back,
    stale_vote,
    committed_conflict,
    batching,
    check_quorum,
    commit_notice,
    failover_notice,
    conflict_term_backup,
    conflict_truncation,
    consistency_check,
    crash_restart,
    election,
    election_restriction,
    figure7,
    figure8,
    forward,
    lease_read,
    minority_leader,
    new_leader_commits_old_entries,
    prevote,
    probe,
    quorum_fanout,
    read_index,
    read_log,
    redirect,
    retry_backoff,
    split_vote,
    stale_rejection,
    stale_term_append,
    vote_guard,
    vote_guard_after_restart,
    vote_resend,
    late_vote,
    explore_forget_voted_for,
    explore_accept_stale_term,
    explore_long_lease,
    explore_no_vote_guard,
    explore_no_timer_reset_on_vote,
    explore_lease_from_ack,
    explore_commit_old_terms,
    explore_no_up_to_date_check,
    explore_uncapped_follower_commit,
    explore_keep_conflicts,
    explore_reads_unchecked,
    explore_read_before_noop,
    explore_correct_core,
);

/// The words of each reason's sentence that no other reason's has. The
/// match is exhaustive: a new reason does not compile until it has words
/// here, and `every_reason_is_told_by_a_script` then needs a story for it.
fn words(reason: &Reason) -> &'static str {
    match reason {
        Reason::VoteGranted {
            pre_vote: false, ..
        } => "its vote for term",
        Reason::VoteGranted { pre_vote: true, .. } => "pre-vote granted (",
        Reason::VoteDenied { why, .. } => match why {
            Denial::StaleTerm { .. } => "is not newer than its own term",
            Denial::AlreadyVoted { .. } => "it already voted for",
            Denial::LogBehind { .. } => "the candidate's log is behind",
            Denial::VoteGuard {
                since_start: false, ..
            } => "heard from a leader less than",
            Denial::VoteGuard {
                since_start: true, ..
            } => "has heard no leader since",
            Denial::Leading => "it is the leader",
        },
        Reason::AppendAccepted { .. } => "its log matches the leader's up to index",
        Reason::AppendRejected { why, .. } => match why {
            Rejection::StaleTerm { .. } => "its term is older than",
            Rejection::NoEntry { .. } => "no entry at index",
            Rejection::TermMismatch { .. } => "term mismatch at index",
            Rejection::WouldOverwriteCommitted { .. } => "knows are committed",
        },
        Reason::Truncated { .. } => "conflict with",
        Reason::HandedOver {
            leader: Some(_), ..
        } => "of its dropped entries over to",
        Reason::HandedOver { leader: None, .. } => "to hand over to the next leader",
        Reason::TookOver { .. } => "handed over",
        Reason::CommitAdvanced { .. } => "it is from the current term",
        Reason::CommitHeldBack { .. } => "a majority holds it, but it is from term",
        Reason::SteppedDown { why } => match why {
            StepDown::HigherTerm { .. } => "steps down: S",
            StepDown::LostQuorum => "no majority answered it",
        },
        Reason::ReadServed { via } => match via {
            ReadPath::Lease { .. } => "its lease holds until",
            ReadPath::ReadIndex => "a majority confirmed it still leads",
            ReadPath::Log { .. } => "serves a read through the log",
        },
    }
}

/// Every reason the core can give is told by at least one story.
#[test]
fn every_reason_is_told_by_a_script() {
    let p = |index, term| Position { index, term };
    let denials = [
        Denial::StaleTerm { ours: 2 },
        Denial::AlreadyVoted { voted_for: 1 },
        Denial::LogBehind {
            theirs: p(1, 1),
            ours: p(2, 1),
        },
        Denial::VoteGuard {
            until: 0,
            since_start: false,
        },
        Denial::VoteGuard {
            until: 0,
            since_start: true,
        },
        Denial::Leading,
    ];
    let rejections = [
        Rejection::StaleTerm { ours: 2 },
        Rejection::NoEntry { index: 2, last: 1 },
        Rejection::TermMismatch {
            index: 2,
            ours: 1,
            theirs: 2,
        },
        Rejection::WouldOverwriteCommitted { commit: 2 },
    ];
    let mut reasons: Vec<Reason> = denials
        .into_iter()
        .map(|why| Reason::VoteDenied {
            candidate: 0,
            term: 1,
            pre_vote: false,
            why,
        })
        .collect();
    reasons.extend(
        rejections
            .into_iter()
            .map(|why| Reason::AppendRejected { leader: 0, why }),
    );
    reasons.extend([
        Reason::VoteGranted {
            candidate: 0,
            term: 1,
            pre_vote: false,
        },
        Reason::VoteGranted {
            candidate: 0,
            term: 1,
            pre_vote: true,
        },
        Reason::AppendAccepted {
            leader: 0,
            matched: 1,
        },
        Reason::Truncated {
            leader: 0,
            from: 2,
            to: 2,
            terms: vec![1],
        },
        Reason::CommitAdvanced {
            index: 1,
            holders: vec![0, 1],
            entry_term: 1,
            term: 1,
        },
        Reason::CommitHeldBack {
            index: 1,
            entry_term: 1,
            term: 2,
        },
        Reason::SteppedDown {
            why: StepDown::HigherTerm { from: 1, term: 2 },
        },
        Reason::SteppedDown {
            why: StepDown::LostQuorum,
        },
        Reason::ReadServed {
            via: ReadPath::Lease { until: 0 },
        },
        Reason::ReadServed {
            via: ReadPath::ReadIndex,
        },
        Reason::ReadServed {
            via: ReadPath::Log { index: 2 },
        },
        Reason::HandedOver {
            leader: Some(1),
            commands: 1,
        },
        Reason::TookOver {
            from: 0,
            commands: 1,
        },
    ]);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts");
    let stories: String = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for reason in &reasons {
        let told = stories
            .lines()
            .any(|l| !l.starts_with('#') && l.contains(words(reason)));
        assert!(told, "no story tells {reason:?}");
    }
}
