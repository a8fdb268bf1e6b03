//! The grader's fault timeline: who it believes leads, and what its kill and
//! partition events do to a cluster, simulated or real.

use super::config::FaultKind;
use super::workload::Workload;
use crate::raft::NodeId;

/// Who the grader believes leads: "the `leader` field of the latest message
/// any replica sent (during a partition, only from the majority group)"
/// (`PROTOCOL.md`, "The network"). Killing that replica does not change the
/// belief: only a later message does. This is the one place the rule lives;
/// both drivers (the simulator and `gradesim udp`) feed it every datagram a
/// replica sends.
#[derive(Clone, Debug, Default)]
pub struct BelievedLeader {
    leader: Option<NodeId>,
    /// While partitioned: the majority group, whose messages alone count.
    majority: Option<Vec<NodeId>>,
}

impl BelievedLeader {
    /// Replica `from` sent a datagram whose `leader` field was `leader`.
    pub fn heard(&mut self, from: NodeId, leader: Option<NodeId>) {
        if self.majority.as_ref().is_none_or(|m| m.contains(&from)) {
            self.leader = leader;
        }
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    fn split(&mut self, majority: &[NodeId]) {
        self.majority = Some(majority.to_vec());
    }

    fn heal(&mut self) {
        self.majority = None;
    }
}

/// What the fault events need of a cluster, simulated or real.
pub trait FaultTarget {
    /// The grader's belief, fed with every datagram sent so far.
    fn believed_leader(&mut self) -> &mut BelievedLeader;
    fn alive(&self) -> Vec<NodeId>;
    fn kill(&mut self, id: NodeId) -> Result<(), String>;
    /// Cuts `majority` off from the other replicas.
    fn split(&mut self, majority: &[NodeId]) -> Result<(), String>;
    fn heal(&mut self);
}

/// Carries out one fault event of the grader's timeline.
pub fn apply_fault(
    target: &mut impl FaultTarget,
    workload: &mut Workload,
    kind: FaultKind,
) -> Result<(), String> {
    let leader = target.believed_leader().leader();
    match kind {
        FaultKind::KillLeader => {
            if let Some(l) = leader.filter(|l| target.alive().contains(l)) {
                target.kill(l)?;
            }
            workload.forget_leader();
        }
        FaultKind::KillNonLeader => {
            if let Some(victim) = workload.pick(&target.alive(), leader) {
                target.kill(victim)?;
            }
        }
        FaultKind::PartEasy => split(target, &workload.majority_group(leader))?,
        FaultKind::PartHard => {
            split(target, &workload.majority_group(None))?;
            workload.forget_leader();
        }
        FaultKind::PartEnd => {
            target.believed_leader().heal();
            target.heal();
        }
    }
    Ok(())
}

fn split(target: &mut impl FaultTarget, group: &[NodeId]) -> Result<(), String> {
    target.split(group)?;
    target.believed_leader().split(group);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_majority_side_counts_while_split() {
        let mut belief = BelievedLeader::default();
        belief.heard(3, Some(3));
        belief.split(&[0, 1, 2]);
        belief.heard(4, Some(4));
        assert_eq!(belief.leader(), Some(3), "S5 is in the minority");
        belief.heard(1, Some(0));
        assert_eq!(belief.leader(), Some(0));
        belief.heal();
        belief.heard(4, None);
        assert_eq!(belief.leader(), None);
    }
}
