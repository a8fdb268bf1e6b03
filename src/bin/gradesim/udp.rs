//! `gradesim udp`: the grading simulator's contract (`PROTOCOL.md`) over real
//! UDP on localhost and real replica processes.
//!
//! One simulator socket per replica; each replica is launched as
//! `<replica> <port> <ID> <peer IDs...>` in its own process group and learns
//! nothing until it said `hello`. Datagrams are routed by `dst` (a replica, a
//! client, or `FFFF` for every replica) with the config's drops and
//! partitions; clients and scoring are [`Workload`], the same as in the
//! simulator. Every process started is killed at the end, on a panic and on
//! Ctrl-C.
//!
//! Two routers ([`Router`]). The course's (the default) is its simulator's
//! loop: one thread waits up to 100 ms for any socket, takes one datagram
//! from each ready socket and routes it at the Python loop's measured
//! cost, then fires every request and fault that fell due meanwhile,
//! together. The fast one reads every socket on a thread of its own and
//! routes at once, for figures that need a quiet router.

use crate::Router;
use crate::record::Recorder;

mod run;
pub use run::run_udp;

use raftplay::grader::{BelievedLeader, FaultTarget, GraderConfig, Workload};
use raftplay::kv::Request;
use raftplay::raft::{CommitNotice, NodeId, Time};
use raftplay::sim::causes::{Cause, Causes};
use raftplay::wire;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct UdpOptions {
    pub replica: PathBuf,
    pub seed: u64,
    /// Show the replicas' stdout and stderr.
    pub echo: bool,
    /// Launch the replicas with `RAFTPLAY_COMMIT_NOTICE` set to this (unset:
    /// the replica's default).
    pub commit_notice: Option<CommitNotice>,
    /// Launch the replicas with `RAFTPLAY_NO_SPARE=1` (no spare follower in
    /// the quorum fan-out).
    pub no_spare: bool,
    /// Write a recording of the run here ([`crate::record`]).
    pub record: Option<PathBuf>,
    pub router: Router,
}

/// The course's simulator waits this long for a datagram before it looks
/// at its event queue (`RECV_WAIT`).
const COURSE_WAIT: Duration = Duration::from_millis(100);
/// What routing one datagram costs the course's simulator, beyond this
/// router's own work: decoding, checking and re-encoding in Python, and a
/// `select` for writability before each send (measured with a datagram
/// blaster on this machine: docs/gradesim.md).
const COURSE_COST: Duration = Duration::from_micros(45);

/// Process groups of every replica running, for the Ctrl-C handler.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group id is harmless.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

/// Kills every replica still running and exits on Ctrl-C or SIGTERM.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        for pgid in GROUPS.lock().map(|g| g.clone()).unwrap_or_default() {
            signal_group(pgid, libc::SIGKILL);
        }
        eprintln!("gradesim: interrupted; replicas killed");
        std::process::exit(130);
    });
}

/// Salt of the router's drop RNG, so that it draws apart from the
/// workload's (seeded with the same run seed).
const DROP_RNG_SALT: u64 = 0xD20B;

struct Packet {
    from: usize,
    bytes: Vec<u8>,
    addr: SocketAddr,
    at: Instant,
}

struct Link {
    socket: Option<Arc<UdpSocket>>,
    open: Arc<AtomicBool>,
    addr: Option<SocketAddr>,
    child: Child,
    gone: bool,
}

struct Harness {
    rec: Option<Arc<Recorder>>,
    links: Vec<Link>,
    died: u64,
    belief: BelievedLeader,
    /// While partitioned: the majority group (messages across are dropped).
    majority: Option<Vec<NodeId>>,
    drops: f64,
    rng: ChaCha8Rng,
    total_msgs: u64,
    routed: u64,
    /// Replica-to-replica messages by what they were for, decoded from
    /// the wire after they were routed.
    causes: Causes,
    by_cause: BTreeMap<Cause, u64>,
}

impl Harness {
    fn launch(
        config: &GraderConfig,
        options: &UdpOptions,
        tx: Option<&Sender<Packet>>,
        rec: Option<Arc<Recorder>>,
    ) -> Result<Self, String> {
        let n = config.replicas;
        let mut harness = Harness {
            rec: rec.clone(),
            links: Vec::with_capacity(n),
            died: 0,
            belief: BelievedLeader::default(),
            majority: None,
            drops: config.drops,
            rng: ChaCha8Rng::seed_from_u64(options.seed ^ DROP_RNG_SALT),
            total_msgs: 0,
            routed: 0,
            causes: Causes::default(),
            by_cause: BTreeMap::new(),
        };
        for i in 0..n {
            let (socket, open, port) = bind_for(i, tx)?;
            let child = spawn_replica(i, n, port, options, rec.as_ref())?;
            if let Ok(mut groups) = GROUPS.lock() {
                groups.push(child.id() as i32);
            }
            harness.links.push(Link {
                socket: Some(socket),
                open,
                addr: None,
                child,
                gone: false,
            });
        }
        Ok(harness)
    }

    fn is_up(&self, i: usize) -> bool {
        !self.links[i].gone
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.majority
            .as_ref()
            .is_some_and(|m| m.contains(&(a as NodeId)) != m.contains(&(b as NodeId)))
    }

    fn close(&mut self, i: usize) {
        let link = &mut self.links[i];
        link.gone = true;
        link.open.store(false, Ordering::SeqCst);
        link.socket = None;
    }

    fn send(&self, to: usize, bytes: &[u8]) {
        let link = &self.links[to];
        if let (Some(socket), Some(addr), false) = (&link.socket, link.addr, link.gone) {
            let _ = socket.send_to(bytes, addr);
        }
    }

    fn route(&mut self, from: usize, to: usize, bytes: &[u8]) {
        let lost = self.drops > 0.0 && self.rng.random_bool(self.drops);
        let cut = self.cut(from, to);
        if !cut && !lost {
            self.routed += 1;
            self.send(to, bytes);
        }
        if let Some(rec) = &self.rec {
            let fate = match (cut, lost, self.is_up(to)) {
                (true, _, _) => "partitioned",
                (_, true, _) => "dropped",
                (_, _, false) => "dead",
                _ => "delivered",
            };
            let (src, dst) = (wire::id(from as u16), wire::id(to as u16));
            rec.datagram(rec.now(), &src, &dst, bytes, fate);
        }
    }

    fn request(&mut self, to: NodeId, request: &Request) {
        let bytes = wire::encode_request(to, request);
        self.send(to as usize, &bytes);
        if let Some(rec) = &self.rec {
            let fate = if self.is_up(to as usize) {
                "delivered"
            } else {
                "dead"
            };
            let (src, dst) = (wire::id(request.client), wire::id(to));
            rec.datagram(rec.now(), &src, &dst, &bytes, fate);
        }
    }

    /// Writes the grader's verdicts since the last call.
    fn record_verdicts(&self, workload: &mut Workload) {
        let verdicts = workload.take_verdicts();
        if let Some(rec) = &self.rec {
            for v in &verdicts {
                rec.verdict(v);
            }
        }
    }

    /// Handles one datagram from a replica.
    fn receive(&mut self, p: Packet, workload: &mut Workload, start: Instant) {
        let from = p.from;
        if self.links[from].gone {
            return;
        }
        if self.links[from].addr.is_none() {
            if wire::is_hello(&p.bytes, from as u16) {
                self.links[from].addr = Some(p.addr);
            }
            return;
        }
        if std::str::from_utf8(&p.bytes).is_err() {
            // The course's simulator closes such a replica: it died.
            self.died += 1;
            return self.close(from);
        }
        if wire::is_hello(&p.bytes, from as u16) {
            return;
        }
        let name = wire::id(from as u16);
        let (src, dst, leader) = match wire::header(&p.bytes) {
            Ok(h) => h,
            Err(e) => return workload.malformed(format!("from {name}: {e}")),
        };
        if src != from as u16 {
            return workload.malformed(format!("from {name}: src is {}", wire::id(src)));
        }
        self.belief.heard(from as NodeId, leader);
        let n = self.links.len();
        let clients = workload.client_ids();
        match dst {
            None => {
                self.total_msgs += n as u64 - 1;
                for to in (0..n).filter(|&to| to != from) {
                    self.route(from, to, &p.bytes);
                }
                for to in (0..n).filter(|&to| to != from) {
                    self.classify(to, &p.bytes);
                }
            }
            Some(d) if (d as usize) < n => {
                self.total_msgs += 1;
                self.route(from, d as usize, &p.bytes);
                self.classify(d as usize, &p.bytes);
            }
            Some(d) if clients.contains(&d) => self.answer(&p, d, workload, start),
            Some(d) => workload.malformed(format!("from {name}: unknown dst {}", wire::id(d))),
        }
    }

    /// A replica's datagram to client `client`: an answer the workload
    /// judges (and may retry), or a malformed one.
    fn answer(&mut self, p: &Packet, client: u16, workload: &mut Workload, start: Instant) {
        let (from, name) = (p.from, wire::id(p.from as u16));
        match wire::decode_response(&p.bytes) {
            Ok(Some(response)) => {
                if let Some(rec) = &self.rec {
                    let at = p.at.saturating_duration_since(start).as_micros() as u64;
                    rec.datagram(at, &name, &wire::id(client), &p.bytes, "delivered");
                }
                let now = p.at.duration_since(start).as_micros() as Time;
                let alive = self.alive();
                if let Some((to, retry)) =
                    workload.on_response(now, from as NodeId, response, &alive)
                {
                    self.request(to, &retry);
                }
                self.record_verdicts(workload);
            }
            Ok(None) => workload.malformed(format!("from {name}: not an answer to a client")),
            Err(e) => workload.malformed(format!("from {name}: {e}")),
        }
    }

    /// Counts a routed replica message by what it was for: this project's
    /// protocol decoded as its replica would, anything else as "other".
    fn classify(&mut self, to: usize, bytes: &[u8]) {
        let n = self.links.len();
        let cause = match wire::decode_for_replica(bytes, to as NodeId, |id| (id as usize) < n) {
            Ok(wire::Incoming::Peer { envelope }) => self.causes.classify(&envelope),
            _ => Cause::Other,
        };
        *self.by_cause.entry(cause).or_default() += 1;
    }

    /// Datagrams the kernel dropped for full receive buffers, at the
    /// grader's sockets and at the live replicas' (see [`udp_drops`]).
    fn socket_drops(&self) -> Option<(u64, u64)> {
        let drops = udp_drops()?;
        let count = |addr: Option<SocketAddr>| {
            addr.and_then(|a| drops.get(&a.port()).copied())
                .unwrap_or(0)
        };
        let live = self.links.iter().filter(|l| !l.gone);
        let mine = live
            .clone()
            .map(|l| l.socket.as_ref().and_then(|s| s.local_addr().ok()));
        let grader = mine.map(count).sum();
        let replicas = live.map(|l| count(l.addr)).sum();
        Some((grader, replicas))
    }

    /// The course's `select`: the replicas whose sockets have a datagram,
    /// in replica order, after waiting up to `wait` for one.
    fn ready(&self, wait: Duration) -> Vec<usize> {
        use std::os::fd::AsRawFd;
        let live: Vec<usize> = (0..self.links.len())
            .filter(|&i| self.links[i].socket.is_some())
            .collect();
        let mut fds: Vec<libc::pollfd> = live
            .iter()
            .map(|&i| libc::pollfd {
                fd: self.links[i].socket.as_ref().map_or(-1, |s| s.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = wait.as_millis() as libc::c_int;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n <= 0 {
            return Vec::new();
        }
        live.into_iter()
            .zip(&fds)
            .filter(|(_, f)| f.revents & libc::POLLIN != 0)
            .map(|(i, _)| i)
            .collect()
    }

    /// One datagram off replica `i`'s socket, if one is there.
    fn recv_one(&self, i: usize, buf: &mut [u8]) -> Option<Packet> {
        let socket = self.links[i].socket.as_ref()?;
        let (n, addr) = socket.recv_from(buf).ok()?;
        Some(Packet {
            from: i,
            bytes: buf[..n].to_vec(),
            addr,
            at: Instant::now(),
        })
    }

    /// Notices replicas that exited on their own.
    fn reap(&mut self) {
        for i in 0..self.links.len() {
            if !self.links[i].gone && matches!(self.links[i].child.try_wait(), Ok(Some(_))) {
                self.died += 1;
                self.close(i);
            }
        }
    }
}

impl FaultTarget for Harness {
    fn believed_leader(&mut self) -> &mut BelievedLeader {
        &mut self.belief
    }
    fn alive(&self) -> Vec<NodeId> {
        (0..self.links.len())
            .filter(|&i| self.is_up(i))
            .map(|i| i as NodeId)
            .collect()
    }
    /// Closes the replica's simulator socket, then sends SIGTERM to its
    /// process group.
    fn kill(&mut self, id: NodeId) -> Result<(), String> {
        let i = id as usize;
        self.close(i);
        signal_group(self.links[i].child.id() as i32, libc::SIGTERM);
        Ok(())
    }
    fn split(&mut self, majority: &[NodeId]) -> Result<(), String> {
        self.majority = Some(majority.to_vec());
        Ok(())
    }
    fn heal(&mut self) {
        self.majority = None;
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for link in &mut self.links {
            link.open.store(false, Ordering::SeqCst);
            let pgid = link.child.id() as i32;
            signal_group(pgid, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_millis(500);
            while matches!(link.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            signal_group(pgid, libc::SIGKILL);
            let _ = link.child.wait();
            if let Ok(mut groups) = GROUPS.lock() {
                groups.retain(|&g| g != pgid);
            }
        }
    }
}

/// The `drops` column of `/proc/net/udp` for sockets on 127.0.0.1, by
/// local port: datagrams the kernel threw away because the socket's
/// receive buffer was full. `None` where there is no such file.
fn udp_drops() -> Option<std::collections::BTreeMap<u16, u64>> {
    let text = std::fs::read_to_string("/proc/net/udp").ok()?;
    let rows = text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (ip, port) = fields.get(1)?.split_once(':')?;
        let drops = fields.last()?.parse().ok()?;
        (ip == "0100007F").then_some((u16::from_str_radix(port, 16).ok()?, drops))
    });
    Some(rows.collect())
}

/// Forwards a replica's printed lines to the recording (and, with
/// `--echo`, to stderr).
fn spawn_printer(
    id: String,
    stream: &'static str,
    pipe: impl std::io::Read + Send + 'static,
    rec: Arc<Recorder>,
    echo: bool,
) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("[{id}] {line}");
            }
            let t = rec.now();
            rec.line(serde_json::json!({
                "kind": "print", "t": t, "replica": id, "stream": stream, "line": line,
            }));
        }
    });
}

/// The grader's socket for replica `i`: read by a thread of its own that
/// forwards to `tx` (the fast router), or non-blocking for the course's
/// loop; with whether it is open, and its port.
fn bind_for(
    i: usize,
    tx: Option<&Sender<Packet>>,
) -> Result<(Arc<UdpSocket>, Arc<AtomicBool>, u16), String> {
    let socket = UdpSocket::bind(("127.0.0.1", 0)).map_err(|e| format!("bind: {e}"))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    let port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let socket = Arc::new(socket);
    let open = Arc::new(AtomicBool::new(true));
    match tx {
        Some(tx) => spawn_reader(i, Arc::clone(&socket), Arc::clone(&open), tx.clone()),
        None => socket.set_nonblocking(true).map_err(|e| e.to_string())?,
    }
    Ok((socket, open, port))
}

/// Starts replica `i` of `n` as the course does (`REPLICA port id peers...`,
/// in a process group of its own); its printed lines go to the recording
/// (and the terminal with `--echo`).
fn spawn_replica(
    i: usize,
    n: usize,
    port: u16,
    options: &UdpOptions,
    rec: Option<&Arc<Recorder>>,
) -> Result<Child, String> {
    let peers = (0..n).filter(|&j| j != i).map(|j| wire::id(j as u16));
    let output = || match (rec, options.echo) {
        (Some(_), _) => Stdio::piped(),
        (None, true) => Stdio::inherit(),
        (None, false) => Stdio::null(),
    };
    let mut command = Command::new(&options.replica);
    if let Some(notice) = options.commit_notice {
        command.env("RAFTPLAY_COMMIT_NOTICE", notice.name());
    }
    if options.no_spare {
        command.env("RAFTPLAY_NO_SPARE", "1");
    }
    let mut child = command
        .arg(port.to_string())
        .arg(wire::id(i as u16))
        .args(peers)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(output())
        .stderr(output())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.replica.display()))?;
    if let Some(rec) = rec {
        let id = wire::id(i as u16);
        if let Some(out) = child.stdout.take() {
            spawn_printer(id.clone(), "stdout", out, Arc::clone(rec), options.echo);
        }
        if let Some(err) = child.stderr.take() {
            spawn_printer(id, "stderr", err, Arc::clone(rec), options.echo);
        }
    }
    Ok(child)
}

/// The fast router: reads replica `from`'s socket on a thread of its own
/// while it is open, and forwards each datagram to `tx`.
fn spawn_reader(from: usize, socket: Arc<UdpSocket>, open: Arc<AtomicBool>, tx: Sender<Packet>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while open.load(Ordering::SeqCst) {
            if let Ok((n, addr)) = socket.recv_from(&mut buf) {
                let packet = Packet {
                    from,
                    bytes: buf[..n].to_vec(),
                    addr,
                    at: Instant::now(),
                };
                if tx.send(packet).is_err() {
                    break;
                }
            }
        }
    });
}
