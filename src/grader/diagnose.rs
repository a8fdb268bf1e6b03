//! Diagnoses of a recorded run, from what crossed the wire alone: the
//! patterns that explain most failing student replicas, each with the
//! moment it starts, so that a student looks there first.
//!
//! - no datagram names a leader for a long stretch (an election that never
//!   ends: a vote never cleared per term, a timer never reset);
//! - two replicas name themselves leader at once;
//! - a replica's term goes backwards in its own datagrams (pre-votes
//!   aside: they carry the term their sender would stand in);
//! - requests delivered to a replica and never answered by anyone;
//! - a packet storm: the run stopped at `max_packets`, and the pair and
//!   type that sent the most in its last second.
//!
//! Owns the diagnoses; reads the datagrams as the recorder wrote them
//! (`docs/recording-format.md`) and knows nothing of how they were made.
//! A diagnosis is a pointer, not a verdict: the grader's score says what
//! failed.

use crate::raft::Time;
use std::collections::BTreeMap;

/// No leader named for this long is a diagnosis: several election
/// timeouts of any replica the course accepts (it suggests 150 to 300 ms).
pub const LEADERLESS: Time = 2_000_000;
/// Two replicas naming themselves leader within this window of each other
/// count as leading at once.
pub const TOGETHER: Time = 100_000;
/// The course's "no leader" value of the `leader` field.
const NO_LEADER: &str = "FFFF";

/// One thing seen on the wire, and when it started (µs from the start).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Diagnosis {
    pub t: Time,
    pub what: String,
}

/// What a diagnosis reads of one datagram line of a recording.
pub struct Datagram<'a> {
    /// µs from the start.
    pub t: Time,
    pub src: &'a str,
    pub dst: &'a str,
    /// Its `fate` is "delivered".
    pub delivered: bool,
    /// Its JSON's `type` ("not JSON" when it is not JSON).
    pub ty: &'a str,
    pub mid: Option<&'a str>,
    pub leader: Option<&'a str>,
    pub term: Option<u64>,
    /// Its JSON's `pre` is true (a pre-vote, as this project's replica
    /// marks them).
    pub pre: bool,
}

impl<'a> Datagram<'a> {
    pub fn from_line(line: &'a serde_json::Value) -> Datagram<'a> {
        let json = &line["json"];
        Datagram {
            t: line["t"].as_u64().unwrap_or(0),
            src: line["src"].as_str().unwrap_or("?"),
            dst: line["dst"].as_str().unwrap_or("?"),
            delivered: line["fate"] == "delivered",
            ty: json["type"].as_str().unwrap_or("not JSON"),
            mid: json["MID"].as_str(),
            leader: json["leader"].as_str(),
            term: json["term"].as_u64(),
            pre: json["pre"] == true,
        }
    }
}

/// Reads a run's datagrams one by one ([`Diagnoser::datagram`]), then
/// says what it saw ([`Diagnoser::finish`]).
#[derive(Default)]
pub struct Diagnoser {
    /// The replicas' IDs (a handful: a list is smaller code than a set in
    /// the page's WebAssembly).
    replicas: Vec<String>,
    /// Since when no replica's datagram named a leader, if so: the first
    /// that named none after the last that named one.
    leaderless_since: Option<Time>,
    /// When each replica last named itself leader.
    claims: Vec<(String, Time)>,
    two_leaders: Option<(Time, String, String)>,
    /// Each replica's highest term so far, and the first step back.
    terms: Vec<(String, u64)>,
    backwards: Option<(Time, String, u64, u64)>,
    /// Requests by MID: when they were first delivered to a replica and to
    /// whom, and whether a replica answered them.
    asked: BTreeMap<String, (Time, String, bool)>,
    /// The datagrams of the last second: (t, src, dst, type).
    recent: std::collections::VecDeque<(Time, String, String, String)>,
    leaderless: Vec<(Time, Time)>,
    last_t: Time,
}

impl Diagnoser {
    pub fn new<'a>(replicas: impl IntoIterator<Item = &'a str>) -> Diagnoser {
        Diagnoser {
            replicas: replicas.into_iter().map(str::to_string).collect(),
            ..Diagnoser::default()
        }
    }

    /// One datagram line of a recording (`kind` "datagram").
    pub fn datagram(&mut self, line: &serde_json::Value) {
        self.seen(&Datagram::from_line(line));
    }

    /// One datagram, as [`Datagram`] reads it (the page, which has parsed
    /// the recording already, calls this through its WebAssembly module).
    pub fn seen(&mut self, d: &Datagram) {
        let t = d.t;
        self.last_t = self.last_t.max(t);
        self.recent
            .push_back((t, d.src.to_string(), d.dst.to_string(), d.ty.to_string()));
        while self.recent.front().is_some_and(|r| r.0 + 1_000_000 < t) {
            self.recent.pop_front();
        }
        if !self.replicas.iter().any(|r| r == d.src) {
            if d.delivered
                && let Some(mid) = d.mid
            {
                self.asked
                    .entry(mid.to_string())
                    .or_insert((t, d.dst.to_string(), false));
            }
            return;
        }
        if !self.replicas.iter().any(|r| r == d.dst)
            && let Some(mid) = d.mid
        {
            let asked = self.asked.entry(mid.to_string());
            asked.or_insert((t, d.dst.to_string(), true)).2 = true;
        }
        if let Some(leader) = d.leader {
            self.leader_named(t, d.src, leader);
        }
        // A pre-vote carries the term its sender would stand in, not its own.
        let pre_vote = d.pre || d.ty.to_ascii_lowercase().contains("pre");
        if let Some(term) = d.term.filter(|_| !pre_vote) {
            self.term_seen(t, d.src, term);
        }
    }

    fn leader_named(&mut self, t: Time, src: &str, leader: &str) {
        match (leader == NO_LEADER, self.leaderless_since) {
            (true, None) => self.leaderless_since = Some(t),
            (false, Some(since)) => {
                self.leaderless.push((since, t));
                self.leaderless_since = None;
            }
            _ => {}
        }
        if leader != src {
            return;
        }
        set(&mut self.claims, src, t);
        let other = self
            .claims
            .iter()
            .find(|(r, at)| r.as_str() != src && t.saturating_sub(*at) <= TOGETHER);
        if let (None, Some((other, _))) = (&self.two_leaders, other) {
            self.two_leaders = Some((t, other.clone(), src.to_string()));
        }
    }

    fn term_seen(&mut self, t: Time, src: &str, term: u64) {
        let high = (self.terms.iter())
            .find(|(r, _)| r == src)
            .map_or(term, |(_, high)| *high);
        if term < high && self.backwards.is_none() {
            self.backwards = Some((t, src.to_string(), high, term));
        }
        set(&mut self.terms, src, high.max(term));
    }

    /// What the run shows, in the order it happened. `max_packets` and
    /// `total_msgs`: the config's cap and the grader's count, if known.
    pub fn finish(mut self, max_packets: Option<u64>, total_msgs: Option<u64>) -> Vec<Diagnosis> {
        if let Some(since) = self.leaderless_since.take() {
            self.leaderless.push((since, self.last_t));
        }
        let mut out: Vec<Diagnosis> = self
            .leaderless
            .iter()
            .filter(|(from, to)| to - from >= LEADERLESS)
            .map(|&(from, to)| Diagnosis {
                t: from,
                what: format!(
                    "no datagram named a leader for {} s (from {} s to {} s{}): an election that does not end (are votes cleared when the term changes? is the election timer reset?)",
                    secs(to - from, 1),
                    secs(from, 3),
                    secs(to, 3),
                    if to == self.last_t { ", the end" } else { "" }
                ),
            })
            .collect();
        if let Some((t, a, b)) = &self.two_leaders {
            out.push(Diagnosis {
                t: *t,
                what: format!(
                    "{a} and {b} both named themselves leader within {} ms",
                    TOGETHER / 1000
                ),
            });
        }
        if let Some((t, r, high, low)) = &self.backwards {
            out.push(Diagnosis {
                t: *t,
                what: format!("{r}'s term went back from {high} to {low} in its own datagrams (a term must never decrease)"),
            });
        }
        out.extend(self.unanswered());
        out.extend(self.storm(max_packets, total_msgs));
        out.sort_by_key(|d| d.t);
        out
    }

    /// Requests a replica received that no replica ever answered.
    fn unanswered(&self) -> Option<Diagnosis> {
        let never: Vec<(&String, &(Time, String, bool))> = self
            .asked
            .iter()
            .filter(|(_, (.., answered))| !answered)
            .collect();
        let (mid, (t, to, _)) = never.iter().min_by_key(|(_, (t, ..))| *t)?;
        Some(Diagnosis {
            t: *t,
            what: format!(
                "{} request{} delivered to a replica never answered, the first {mid} (to {to} at {} s)",
                never.len(),
                if never.len() == 1 { "" } else { "s" },
                secs(*t, 3)
            ),
        })
    }

    /// The run stopped at `max_packets`: who sent the most, and what.
    fn storm(&self, max_packets: Option<u64>, total_msgs: Option<u64>) -> Option<Diagnosis> {
        let (max, total) = (max_packets?, total_msgs?);
        if total < max {
            return None;
        }
        let mut sent: Vec<[&str; 3]> = (self.recent.iter())
            .map(|(_, src, dst, ty)| [src.as_str(), dst.as_str(), ty.as_str()])
            .collect();
        sent.sort_unstable();
        let most = sent.chunk_by(|a, b| a == b).max_by_key(|run| run.len())?;
        let ([src, dst, ty], n) = (most[0], most.len());
        let t = self.recent.front().map_or(0, |r| r.0);
        Some(Diagnosis {
            t,
            what: format!(
                "a packet storm: total_msgs reached max_packets ({max}) and stopped the run; in its last second {src} sent {dst} {n} {ty} datagrams"
            ),
        })
    }
}

/// Sets `key`'s value in a short list of pairs.
fn set(pairs: &mut Vec<(String, u64)>, key: &str, value: u64) {
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key.to_string(), value)),
    }
}

/// `t` in seconds with `places` decimals, rounded down (integer arithmetic:
/// the page's WebAssembly carries no float formatting for it).
fn secs(t: Time, places: u32) -> String {
    let unit = 10u64.pow(6 - places);
    let fraction = (t % 1_000_000) / unit;
    format!(
        "{}.{fraction:0width$}",
        t / 1_000_000,
        width = places as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn datagram(t: Time, src: &str, dst: &str, json: serde_json::Value) -> serde_json::Value {
        json!({"kind": "datagram", "t": t, "src": src, "dst": dst, "fate": "delivered", "json": json})
    }

    #[test]
    fn a_long_stretch_without_a_leader_is_named_with_its_moment() {
        let mut d = Diagnoser::new(["0000", "0001", "0002"]);
        let hb = |l: &str| json!({"type": "append", "leader": l, "term": 1});
        d.datagram(&datagram(300_000, "0000", "0001", hb("0000")));
        d.datagram(&datagram(1_000_000, "0001", "0002", hb("0000")));
        // The leader dies: everyone names no leader from 1.5 s on.
        for (i, r) in ["0000", "0001", "0002"].iter().enumerate() {
            let vote = json!({"type": "vote", "leader": "FFFF", "term": 2});
            d.datagram(&datagram(1_500_000 + i as Time, r, "0001", vote));
        }
        d.datagram(&datagram(
            6_000_000,
            "0002",
            "0000",
            json!({"type": "vote", "leader": "FFFF"}),
        ));
        let found = d.finish(None, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].t, 1_500_000, "the first datagram that named none");
        assert!(
            found[0]
                .what
                .starts_with("no datagram named a leader for 4.5 s"),
            "{found:?}"
        );
    }

    #[test]
    fn two_leaders_a_term_going_back_and_an_unanswered_request() {
        let mut d = Diagnoser::new(["0000", "0001", "0002"]);
        let from = |l: &str, term: u64| json!({"type": "append", "leader": l, "term": term});
        d.datagram(&datagram(100_000, "0000", "0001", from("0000", 3)));
        d.datagram(&datagram(150_000, "0002", "0001", from("0002", 4)));
        d.datagram(&datagram(200_000, "0000", "0001", from("0000", 2)));
        d.datagram(&datagram(
            250_000,
            "0015",
            "0001",
            json!({"type": "get", "MID": "M1", "key": "k"}),
        ));
        d.datagram(&datagram(
            260_000,
            "0015",
            "0002",
            json!({"type": "get", "MID": "M2", "key": "k"}),
        ));
        d.datagram(&datagram(
            270_000,
            "0002",
            "0015",
            json!({"type": "ok", "MID": "M2", "leader": "0002"}),
        ));
        let found: Vec<String> = d.finish(None, None).into_iter().map(|d| d.what).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("0000 and 0002 both named themselves leader"));
        assert!(found[1].contains("0000's term went back from 3 to 2"));
        assert!(
            found[2].starts_with(
                "1 request delivered to a replica never answered, the first M1 (to 0001"
            )
        );
    }

    #[test]
    fn a_storm_names_the_pair_and_type_that_sent_most() {
        let mut d = Diagnoser::new(["0000", "0001"]);
        for i in 0..50 {
            let ty = if i % 5 == 0 { "append" } else { "vote_request" };
            let src = if i % 5 == 0 { "0000" } else { "0001" };
            d.datagram(&datagram(
                1_000 * i,
                src,
                "0000",
                json!({"type": ty, "leader": "FFFF"}),
            ));
        }
        let found = d.finish(Some(50), Some(50));
        let storm = found
            .iter()
            .find(|d| d.what.starts_with("a packet storm"))
            .unwrap();
        assert!(
            storm
                .what
                .contains("0001 sent 0000 40 vote_request datagrams"),
            "{storm:?}"
        );
        assert!(
            Diagnoser::new(["0000"])
                .finish(Some(50), Some(49))
                .is_empty()
        );
    }
}
