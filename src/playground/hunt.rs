//! Bug hunts: the ladder of hints the page offers for each planted bug,
//! from which light to watch to which faults tend to expose it.
//!
//! Owns only the teaching text; the bugs and their rules are the core's
//! ([`Bug`]), the seeds that catch them the chaos mode's
//! ([`crate::sim::chaos::first_catch`]).

use crate::raft::Bug;

/// Two hints, the vaguer first: the check that turns red, then what to try.
pub fn hints(bug: Bug) -> [&'static str; 2] {
    match bug {
        Bug::CommitOldTerms => [
            "Watch \"More checks\" (the Commit Rule) while leadership changes hands.",
            "Get a put onto only some followers, crash the leader, let a leader of a later term take over and bring the others back: what does it commit, and how?",
        ],
        Bug::NoUpToDateCheck => [
            "Watch Leader Completeness.",
            "Cut a node off so it misses committed puts, let it time out a few times so its term climbs, then heal: whom do the others vote for?",
        ],
        Bug::NoVoteGuard => [
            "Watch \"More checks\" (Lease Exclusion): a rule of Ongaro's thesis, not the paper.",
            "On three nodes, cut one follower off from the leader while the other keeps acknowledging it; when the cut-off one stands for election, who votes for it, and does the old leader still read alone?",
        ],
        Bug::LongLease => [
            "Watch \"More checks\" (Lease Exclusion): a rule of Ongaro's thesis.",
            "Partition the leader alone and see how long it keeps its read lease after the others elect a new leader.",
        ],
        Bug::LeaseFromAck => [
            "Watch \"More checks\" (Lease Exclusion): a rule of Ongaro's thesis.",
            "Raise the latency so acknowledgements arrive late, then cut the leader off: when does its lease end, and when can the others elect?",
        ],
        Bug::UncappedFollowerCommit => [
            "Watch State Machine Safety.",
            "With the paper preset (one entry per AppendEntries), leave a follower with extra entries of an old leader, then let a new leader's heartbeat carry a higher commit index to it.",
        ],
        Bug::ReadBeforeNoop => [
            "Watch Linearizability.",
            "Put a value, crash the leader as soon as it answers, and get the key from the new leader the moment it wins.",
        ],
        Bug::ForgetVotedFor => [
            "Watch \"More checks\" (Persistent State), then Election Safety.",
            "Crash and restart a node during an election, just after it voted.",
        ],
        Bug::KeepConflicts => [
            "Watch Log Matching.",
            "Partition the leader alone and put through it (those entries never commit), let the majority elect and commit other puts, then heal.",
        ],
        Bug::AcceptStaleTerm => [
            "Watch \"More checks\" (Stale Term).",
            "Partition the leader alone, let the majority elect another, then heal: what do the nodes do with the old leader's AppendEntries?",
        ],
        Bug::NoTimerResetOnVote => [
            "Watch \"More checks\" (Election Timer).",
            "Make a node time out and watch the election timers of the nodes that grant it their votes.",
        ],
        Bug::ReadsUnchecked => [
            "Watch Linearizability.",
            "Partition the leader alone, put a new value through the majority's new leader, then get the key from the old one.",
        ],
    }
}
