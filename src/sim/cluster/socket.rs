//! The grader's side of the wire, as the cluster models it: the sockets
//! the grader reads replicas' datagrams from ([`GraderSocket`], which
//! overflow when a replica sends faster than the grader drains them), and
//! the log of datagrams as the course's wire encodes them ([`Wired`]).
//!
//! Owns the socket model and the wire log; the cluster decides what is
//! sent.

use super::Cluster;
use crate::raft::{NodeId, Time};
use crate::sim::network::Loss;

/// A socket the grader reads in one loop: it holds `capacity` datagrams and
/// is drained at `drain_per_ms`; what arrives when it is full is dropped by
/// the kernel, answers to clients included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GraderSocket {
    pub capacity: u32,
    pub drain_per_ms: u32,
}

impl GraderSocket {
    /// The course grader as modelled here: a Python loop that takes about
    /// 50 microseconds a datagram, and the kernel's default receive buffer
    /// (212,992 bytes), which holds a hundred-odd small datagrams. Measured
    /// against: `gradesim udp` saw the kernel drop 208 datagrams at the
    /// grader's sockets in a run where replicas sent bursts of 130 to 150
    /// answers within two milliseconds.
    pub const COURSE: GraderSocket = GraderSocket {
        capacity: 100,
        drain_per_ms: 20,
    };
}

/// A datagram as the grader's router would see it, encoded as on the
/// course's wire (with `options.wire_log`). Its fate is decided when it is
/// sent: `delivered`, `dropped`, `partitioned`, `dead` (the receiver is
/// down), or `overflow` (the grader's socket for the sender was full; a
/// real router never sees those).
#[derive(Clone, Debug)]
pub struct Wired {
    /// When it left its sender.
    pub t: Time,
    pub src: String,
    pub dst: String,
    pub bytes: Vec<u8>,
    pub fate: &'static str,
}

impl Cluster {
    /// The datagrams sent since the last call, in send order (empty unless
    /// `options.wire_log`).
    pub fn take_wire(&mut self) -> Vec<Wired> {
        std::mem::take(&mut self.wire)
    }

    pub(super) fn log_wire(
        &mut self,
        t: Time,
        (src, dst): (String, String),
        bytes: Vec<u8>,
        loss: Option<Loss>,
    ) {
        let fate = match loss {
            None => "delivered",
            Some(Loss::Dropped) => "dropped",
            Some(Loss::Partitioned) => "partitioned",
            Some(Loss::Dead | Loss::SenderCrashed) => "dead",
            Some(Loss::Overflow) => "overflow",
            Some(Loss::Displaced) => "displaced",
        };
        let wired = Wired {
            t,
            src,
            dst,
            bytes,
            fate,
        };
        self.wire.push(wired);
    }

    /// The datagram leaves `from` at `depart`: whether the grader's socket
    /// is too full to take it.
    pub(super) fn overflows(&mut self, from: NodeId, depart: Time) -> bool {
        let Some(socket) = self.options.grader_socket else {
            return false;
        };
        let per = 1_000 / Time::from(socket.drain_per_ms.max(1));
        let slot = &mut self.slots[from as usize];
        let queued = slot.socket_busy_until.saturating_sub(depart).div_ceil(per);
        if queued >= Time::from(socket.capacity) {
            self.stats.overflowed += 1;
            return true;
        }
        slot.socket_busy_until = slot.socket_busy_until.max(depart) + per;
        false
    }
}
