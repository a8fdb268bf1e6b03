//! Why the cluster refused a driver's action (a crash, a restart, a
//! partition, a held message...): one variant per reason, its sentence by
//! `Display`, so that callers match on the reason and people read the
//! sentence.
//!
//! Owns the reasons only; the checks that refuse are the controls' own.

use crate::raft::{NodeId, Time};

/// An action the cluster refused, and why.
#[derive(Clone, Debug, PartialEq)]
pub enum Refused {
    /// There is no such node.
    NoNode {
        id: NodeId,
        nodes: usize,
    },
    /// The node is down.
    Down(NodeId),
    AlreadyDown(NodeId),
    AlreadyUp(NodeId),
    /// A partition names the node in two groups.
    InTwoGroups(NodeId),
    /// No such message is in flight.
    NotInFlight {
        from: NodeId,
        to: NodeId,
        sent: Time,
    },
    /// No held message has that index.
    NoHeld(usize),
    /// A drop rate outside [0, 1).
    DropRate(f64),
    /// A latency range that is not 0 < min <= max.
    Latency {
        min: Time,
        max: Time,
    },
    /// A clock rate at which the clock would stand still (ppm).
    ClockStandsStill(i64),
    /// The clock cannot jump past an event due before it.
    EventDue(Time),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |id: &NodeId| *id as u32 + 1;
        match self {
            Refused::NoNode { id, nodes } => {
                write!(f, "no node S{} in a cluster of {nodes}", s(id))
            }
            Refused::Down(id) => write!(f, "S{} is down", s(id)),
            Refused::AlreadyDown(id) => write!(f, "S{} is already down", s(id)),
            Refused::AlreadyUp(id) => write!(f, "S{} is already up", s(id)),
            Refused::InTwoGroups(id) => write!(f, "S{} is in two groups", s(id)),
            Refused::NotInFlight { from, to, sent } => write!(
                f,
                "no message from S{} to S{} sent at {:.3} s is in flight",
                s(from),
                s(to),
                crate::raft::time::as_secs(*sent)
            ),
            Refused::NoHeld(index) => write!(f, "no held message {index}"),
            Refused::DropRate(rate) => write!(f, "drop rate must be in [0, 1), got {rate}"),
            Refused::Latency { min, max } => {
                write!(f, "latency must satisfy 0 < min <= max, got {min}..{max}")
            }
            Refused::ClockStandsStill(ppm) => write!(f, "a clock rate of {ppm} ppm stands still"),
            Refused::EventDue(time) => write!(f, "an event is due before {time}"),
        }
    }
}

impl std::error::Error for Refused {}

/// For the drivers whose own errors are sentences (the page's model, the
/// command lines): `?` turns a refusal into its sentence.
impl From<Refused> for String {
    fn from(refused: Refused) -> String {
        refused.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_why_with_the_node_named_as_the_page_names_it() {
        assert_eq!(Refused::AlreadyDown(0).to_string(), "S1 is already down");
        assert_eq!(
            Refused::NoNode { id: 7, nodes: 5 }.to_string(),
            "no node S8 in a cluster of 5"
        );
        let lost = Refused::NotInFlight {
            from: 1,
            to: 2,
            sent: 1_500_000,
        };
        assert_eq!(
            lost.to_string(),
            "no message from S2 to S3 sent at 1.500 s is in flight"
        );
        assert_eq!(String::from(Refused::NoHeld(3)), "no held message 3");
    }
}
