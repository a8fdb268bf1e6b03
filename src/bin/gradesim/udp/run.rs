//! One run of `gradesim udp`: the schedule of requests and faults, the two
//! routers' loops, and the score at the end. The processes and the
//! routing of one datagram are the harness's (`super::Harness`).

use super::{COURSE_COST, COURSE_WAIT, Harness, Packet, UdpOptions};
use crate::Router;
use crate::record::{self, Recorder};
use raftplay::grader::{FaultKind, FaultTarget, GraderConfig, Outcome, Workload, apply_fault};
use raftplay::raft::Time;
use raftplay::sim::linearizability;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Busy-waits `d` (the course's simulator is busy, not asleep).
fn spin(d: Duration) {
    let from = Instant::now();
    while from.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Why a run's loop ended.
enum Ended {
    Time,
    PacketStorm,
}

/// One run under way: the processes, the workload and the schedule.
struct Run<'a> {
    config: &'a GraderConfig,
    seed: u64,
    /// The course router's cost per datagram and per request (zero for
    /// the fast router).
    cost: Duration,
    harness: Harness,
    workload: Workload,
    faults: std::iter::Peekable<std::vec::IntoIter<(Time, FaultKind)>>,
    rec: Option<Arc<Recorder>>,
    start: Instant,
    end: Time,
    last_reap: Instant,
}

impl Run<'_> {
    fn now(&self) -> Time {
        self.start.elapsed().as_micros() as Time
    }

    /// The end of the run, or of its packets.
    fn over(&self) -> Option<Ended> {
        if self.now() >= self.end {
            Some(Ended::Time)
        } else if self.harness.total_msgs >= self.config.max_packets {
            Some(Ended::PacketStorm)
        } else {
            None
        }
    }

    /// Fires the request or fault due first if it is due by `by`; false
    /// if none is.
    fn fire_due(&mut self, by: Time) -> Result<bool, String> {
        let next_op = self.workload.next_op_time().unwrap_or(Time::MAX);
        let next_fault = self.faults.peek().map_or(Time::MAX, |f| f.0);
        if next_fault <= by && next_fault <= next_op {
            let (at, kind) = self.faults.next().expect("peeked");
            self.fault(at, kind)?;
            return Ok(true);
        }
        if next_op <= by {
            let alive = self.harness.alive();
            if let Some((to, request)) = self.workload.generate(self.now(), &alive) {
                // Making and encoding the request, as the Python client
                // does after its clock started.
                spin(self.cost);
                self.harness.request(to, &request);
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn fault(&mut self, at: Time, kind: FaultKind) -> Result<(), String> {
        let before = self.harness.alive();
        apply_fault(&mut self.harness, &mut self.workload, kind)?;
        if let Some(rec) = &self.rec {
            let alive = self.harness.alive();
            let killed: Vec<_> = before
                .into_iter()
                .filter(|id| !alive.contains(id))
                .collect();
            let majority = self.harness.majority.as_deref();
            rec.line(record::fault(at, kind, &killed, majority));
        }
        Ok(())
    }

    fn reap_now_and_then(&mut self) {
        if self.last_reap.elapsed() > Duration::from_millis(50) {
            self.last_reap = Instant::now();
            self.harness.reap();
        }
    }

    /// The fast router: every datagram as its reader thread hands it over,
    /// requests and faults at their times.
    fn fast_loop(&mut self, rx: Receiver<Packet>) -> Result<Ended, String> {
        loop {
            if let Some(ended) = self.over() {
                return Ok(ended);
            }
            if self.fire_due(self.now())? {
                continue;
            }
            let next_op = self.workload.next_op_time().unwrap_or(Time::MAX);
            let next_fault = self.faults.peek().map_or(Time::MAX, |f| f.0);
            let wait = next_op.min(next_fault).min(self.end) - self.now().min(self.end);
            match rx.recv_timeout(Duration::from_micros(wait.min(50_000))) {
                Ok(packet) => self.harness.receive(packet, &mut self.workload, self.start),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_micros(wait))
                }
            }
            self.reap_now_and_then();
        }
    }

    /// The course's router (its simulator's main loop): wait up to 100 ms
    /// for any socket; one datagram from each ready socket, each at the
    /// Python loop's cost; then every request and fault due by then.
    fn course_loop(&mut self) -> Result<Ended, String> {
        let mut buf = vec![0u8; 65_536];
        loop {
            if let Some(ended) = self.over() {
                return Ok(ended);
            }
            for i in self.harness.ready(COURSE_WAIT) {
                if let Some(packet) = self.harness.recv_one(i, &mut buf) {
                    // The Python loop's work sits between its receive and
                    // its send.
                    spin(self.cost);
                    self.harness.receive(packet, &mut self.workload, self.start);
                }
            }
            let clock = self.now();
            while self.fire_due(clock)? {}
            self.reap_now_and_then();
        }
    }
}

/// Runs one config against real replica processes.
pub fn run_udp(config: &GraderConfig, options: &UdpOptions) -> Result<Outcome, String> {
    let rec = match &options.record {
        Some(path) => Some(Arc::new(Recorder::create(path, Instant::now())?)),
        None => None,
    };
    let workload = Workload::new(config, options.seed);
    if let Some(rec) = &rec {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let clients = workload.client_ids();
        rec.line(record::header(
            config,
            options.seed,
            &clients,
            Some(unix_ms),
        ));
    }
    let (tx, rx): (Sender<Packet>, Receiver<Packet>) = mpsc::channel();
    let readers = (options.router == Router::Fast).then_some(&tx);
    let harness = Harness::launch(config, options, readers, rec.clone())?;
    drop(tx);
    let start = Instant::now();
    if let Some(rec) = &rec {
        rec.start_clock(start);
    }
    let cost = match options.router {
        Router::Course => COURSE_COST,
        Router::Fast => Duration::ZERO,
    };
    let mut run = Run {
        config,
        seed: options.seed,
        cost,
        faults: workload.faults().into_iter().peekable(),
        end: workload.end_time(),
        harness,
        workload,
        rec,
        start,
        last_reap: start,
    };
    let ended = match options.router {
        Router::Fast => run.fast_loop(rx)?,
        Router::Course => run.course_loop()?,
    };
    run.finish(matches!(ended, Ended::PacketStorm))
}

impl Run<'_> {
    fn finish(mut self, packet_storm: bool) -> Result<Outcome, String> {
        let (harness, workload) = (&mut self.harness, &mut self.workload);
        harness.reap();
        let socket_drops = harness.socket_drops();
        let score = workload.score(harness.total_msgs, harness.died);
        if let Some(rec) = &self.rec {
            harness.record_verdicts(workload);
            for v in workload.unanswered(self.start.elapsed().as_micros() as Time) {
                rec.verdict(&v);
            }
            rec.line(serde_json::json!({ "kind": "score", "score": score }));
            rec.finish();
        }
        Ok(Outcome {
            name: self.config.name.clone(),
            seed: self.seed,
            score,
            violation: None,
            linearizable: linearizability::check(&workload.history().operations()),
            answers: Ok(()),
            virtual_seconds: self.start.elapsed().as_secs_f64(),
            events: harness.routed,
            packet_storm,
            socket_drops,
            by_cause: harness.by_cause.clone(),
            message_floor: self.config.message_floor(),
            trace: Vec::new(),
        })
    }
}
