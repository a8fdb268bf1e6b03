//! `3700kvstore`: the course's UDP replica, an event loop around the core.
//!
//!     ./3700kvstore <UDP port> <own ID> <peer ID> [<peer ID> ...]
//!
//! Binds a UDP socket on localhost, says `hello` to the simulator at
//! `localhost:<UDP port>`, then waits on the socket until the next datagram
//! or the core's next deadline, whichever comes first (it never spins).
//! Datagrams in go through [`raftplay::wire`] to the core; the core's
//! actions go back out the same way. A datagram that does not decode is
//! dropped and counted. Quiet by default; `RAFTPLAY_LOG=1` prints a
//! readable event log on stderr; `RAFTPLAY_COMMIT_NOTICE=never`, `always`
//! or `after_failover` sets [`raftplay::raft::Config::commit_notice`] (the
//! default is `after_failover`), and `RAFTPLAY_NO_SPARE=1`
//! turns off the spare follower ([`raftplay::raft::Config::spare_below`]),
//! for measuring what it buys.

use raftplay::kv::{Outgoing, Request, Server, Store};
use raftplay::pace::Pacer;
use raftplay::raft::{Config, Message, Node, NodeId, RoleKind, Time};
use raftplay::wire::{self, Incoming};
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: 3700kvstore <UDP port> <own ID> <peer ID> [<peer ID> ...]  (IDs: four hex digits)";

struct Args {
    port: u16,
    id: NodeId,
    peers: Vec<NodeId>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let [port, id, peers @ ..] = args else {
        return Err("expected a port, an ID and peer IDs".into());
    };
    let port = port
        .parse()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    let id = wire::parse_id(id).map_err(|e| format!("own ID: {e}"))?;
    let peers = peers
        .iter()
        .map(|p| wire::parse_id(p).map_err(|e| format!("peer ID: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if peers.contains(&id) {
        return Err("own ID listed among the peers".into());
    }
    Ok(Args { port, id, peers })
}

struct Replica {
    socket: UdpSocket,
    server: Server,
    clock: Instant,
    verbose: bool,
    dropped: u64,
    last: (RoleKind, u64, Option<NodeId>),
    burst: Burst,
    outbox: Outbox,
}

/// Datagrams on their way out, paced by [`Pacer`] (see [`raftplay::pace`]
/// for why), in the order they were written.
#[derive(Default)]
struct Outbox {
    queue: std::collections::VecDeque<(Time, Vec<u8>)>,
    pacer: Pacer,
}

impl Outbox {
    fn push(&mut self, now: Time, bytes: Vec<u8>) {
        let departure = self.pacer.reserve(now);
        self.queue.push_back((departure, bytes));
    }

    /// Sends every datagram whose departure time has come.
    fn pump(&mut self, now: Time, socket: &UdpSocket) -> std::io::Result<()> {
        while self.queue.front().is_some_and(|(t, _)| *t <= now) {
            let (_, bytes) = self.queue.pop_front().expect("checked above");
            socket.send(&bytes)?;
        }
        Ok(())
    }

    /// When the next queued datagram may go.
    fn wake_at(&self) -> Time {
        self.queue.front().map_or(Time::MAX, |(t, _)| *t)
    }
}

/// Datagrams sent per millisecond, to report bursts (`RAFTPLAY_LOG=1`): a
/// burst can overflow the grader's socket buffer, which loses answers.
#[derive(Default)]
struct Burst {
    since: Time,
    answers: usize,
    /// AppendEntries that carry entries.
    appends: usize,
    other: usize,
    bytes: usize,
}

impl Burst {
    const REPORTED: usize = 40;

    fn count(&mut self, action: &Outgoing, bytes: usize) {
        self.bytes += bytes;
        match action {
            Outgoing::Respond(_) => self.answers += 1,
            Outgoing::Send { envelope, .. } => match &envelope.message {
                Message::AppendEntries(a) if !a.entries.is_empty() => self.appends += 1,
                _ => self.other += 1,
            },
            // Not a datagram (and the replica never asks for reasons).
            Outgoing::Explain(_) => {}
        }
    }

    /// Every millisecond: a report if the last one was a burst.
    fn roll(&mut self, now: Time) -> Option<String> {
        if now < self.since + 1_000 {
            return None;
        }
        let (answers, appends, other) = (self.answers, self.appends, self.other);
        let total = answers + appends + other;
        let report = (total >= Self::REPORTED).then(|| {
            format!(
                "burst: {total} datagrams, {} bytes in {} us: {answers} answers, {appends} AppendEntries with entries, {other} other",
                self.bytes,
                now - self.since
            )
        });
        *self = Burst {
            since: now,
            ..Burst::default()
        };
        report
    }
}

impl Replica {
    fn now(&self) -> Time {
        self.clock.elapsed().as_micros() as Time
    }

    fn log(&self, what: impl FnOnce() -> String) {
        if self.verbose {
            let id = wire::id(self.server.node().id());
            eprintln!(
                "[{id} {:>10.6}] {}",
                raftplay::raft::time::as_secs(self.now()),
                what()
            );
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let node = self.server.node();
        let (me, peers) = (node.id(), node.peers().to_vec());
        match wire::decode_for_replica(bytes, me, |p| peers.contains(&p)) {
            Ok(Incoming::Peer { envelope }) => {
                let now = self.now();
                self.server.step(now, envelope);
            }
            Ok(Incoming::Client(request)) => self.request(request),
            Ok(Incoming::Other(what)) => self.drop_datagram(format!("unexpected {what}")),
            Err(why) => self.drop_datagram(why),
        }
    }

    fn request(&mut self, request: Request) {
        let now = self.now();
        self.server.request(now, request);
    }

    fn drop_datagram(&mut self, why: String) {
        self.dropped += 1;
        let count = self.dropped;
        self.log(|| format!("dropped datagram #{count}: {why}"));
    }

    fn flush(&mut self) {
        let me = self.server.node().id();
        for action in self.server.take_outgoing() {
            let bytes = match &action {
                Outgoing::Send { envelope, leader } => wire::encode_envelope(envelope, *leader),
                Outgoing::Respond(response) => wire::encode_response(me, response),
                // The replica leaves `Config::explain` off: nothing to send.
                Outgoing::Explain(_) => continue,
            };
            self.burst.count(&action, bytes.len());
            self.send(bytes);
        }
        let now = self.now();
        if let Some(report) = self.burst.roll(now) {
            self.log(|| report);
        }
        let node = self.server.node();
        let state = (node.role(), node.term(), node.leader());
        if state != self.last {
            self.last = state;
            let leader = wire::leader_field(state.2);
            let (commit, last) = (node.commit_index(), node.log().last_index());
            self.log(|| {
                format!(
                    "{:?} in term {}, leader {leader}, commit {commit}, log {last}",
                    state.0, state.1
                )
            });
        }
    }

    /// Queues a datagram and sends what the pace allows.
    fn send(&mut self, bytes: Vec<u8>) {
        let now = self.now();
        self.outbox.push(now, bytes);
        self.pump();
    }

    fn pump(&mut self) {
        let now = self.now();
        if let Err(e) = self.outbox.pump(now, &self.socket) {
            self.log(|| format!("send failed: {e}"));
        }
    }

    /// Waits for a datagram until the core's next deadline; handles it, or
    /// the deadline.
    fn run(&mut self) -> ! {
        let mut buf = vec![0u8; 65_536];
        loop {
            let next = self.server.next_deadline().min(self.outbox.wake_at());
            let wait = next.saturating_sub(self.now());
            wait_readable(&self.socket, Duration::from_micros(wait));
            self.pump();
            loop {
                match self.socket.recv(&mut buf) {
                    Ok(n) => self.receive(&buf[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break;
                    }
                    Err(e) => {
                        // For example the simulator's socket is gone (ICMP
                        // port unreachable); keep serving until told to stop.
                        self.log(|| format!("receive failed: {e}"));
                        std::thread::sleep(Duration::from_millis(1));
                        break;
                    }
                }
                self.flush();
            }
            let now = self.now();
            if now >= self.server.next_deadline() {
                self.server.tick(now);
            }
            self.flush();
        }
    }
}

/// Sleeps until the socket has a datagram or `timeout` passes. `ppoll`
/// wakes with microsecond precision, where a socket receive timeout
/// (`SO_RCVTIMEO`) is rounded up to scheduler ticks of several
/// milliseconds, which would delay every retry.
#[cfg(unix)]
fn wait_readable(socket: &UdpSocket, timeout: Duration) {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: one valid pollfd, a valid timespec, no signal mask.
    unsafe {
        libc::ppoll(&mut fd, 1, &ts, std::ptr::null());
    }
}

#[cfg(not(unix))]
fn wait_readable(socket: &UdpSocket, timeout: Duration) {
    let _ = socket.set_nonblocking(false);
    let _ = socket.set_read_timeout(Some(timeout.max(Duration::from_micros(1))));
    let mut probe = [0u8; 1];
    let _ = socket.peek(&mut probe);
    let _ = socket.set_nonblocking(true);
}

fn seed(id: NodeId) -> u64 {
    if let Some(seed) = std::env::var("RAFTPLAY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed;
    }
    let mut bytes = [0u8; 8];
    let drawn = getrandom::fill(&mut bytes).map(|_| u64::from_le_bytes(bytes));
    drawn.unwrap_or(u64::from(std::process::id())) ^ u64::from(id)
}

/// An environment switch: set, and neither empty nor "0".
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("3700kvstore: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (socket, config) = match open_socket(args.port).and_then(|s| Ok((s, config_from_env()?))) {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("3700kvstore: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clock = Instant::now();
    let mut members = args.peers.clone();
    members.push(args.id);
    let node = Node::new(
        args.id,
        &members,
        config,
        seed(args.id),
        0,
        Store::default(),
    );
    let mut replica = Replica {
        burst: Burst::default(),
        outbox: Outbox::default(),
        socket,
        server: Server::new(node),
        clock,
        verbose: env_flag("RAFTPLAY_LOG"),
        dropped: 0,
        last: (RoleKind::Follower, 0, None),
    };
    replica.send(wire::encode_hello(args.id));
    replica.log(|| format!("started; peers {:?}", args.peers));
    replica.run()
}

/// A non-blocking UDP socket on localhost, connected to the simulator's
/// port.
fn open_socket(port: u16) -> Result<UdpSocket, String> {
    let socket =
        UdpSocket::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot bind a UDP socket: {e}"))?;
    socket
        .connect(("127.0.0.1", port))
        .map_err(|e| format!("cannot reach localhost:{port}: {e}"))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("cannot make the socket non-blocking: {e}"))?;
    Ok(socket)
}

/// The core's configuration: the defaults, with the commit notices and the
/// spare follower as the environment sets them (see the module doc).
fn config_from_env() -> Result<Config, String> {
    let defaults = Config::default();
    let commit_notice = match std::env::var("RAFTPLAY_COMMIT_NOTICE") {
        Err(_) => defaults.commit_notice,
        Ok(text) => text
            .parse()
            .map_err(|e| format!("RAFTPLAY_COMMIT_NOTICE: {e}"))?,
    };
    let spare_below = if env_flag("RAFTPLAY_NO_SPARE") {
        0.0
    } else {
        defaults.spare_below
    };
    Ok(Config {
        commit_notice,
        spare_below,
        ..defaults
    })
}
