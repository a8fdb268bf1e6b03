//! The course's wire format: one JSON object per UDP datagram, mapped to and
//! from the core's types.
//!
//! Owns encoding and decoding only. Every message carries `src`, `dst` and
//! `leader` (four upper-case hexadecimal digits, `FFFF` for "all" or
//! "unknown") and a `type`. Client types are the course's (`get`, `put`,
//! `ok`, `fail`, `redirect`, with `MID`); the replicas' own protocol uses the
//! types `append`, `append_reply`, `vote`, `vote_reply`, `forward`, `probe`
//! and `commit`.
//! Anything that does not decode is an error with a reason, never a panic.

use crate::kv::{ClientId, Op, Put, Reply, Request, Response};
use crate::raft::{
    AppendEntries, AppendEntriesResponse, AppendOutcome, Entry, Envelope, Index, Message, NodeId,
    RequestVote, RequestVoteResponse, Term, Time,
};
use serde::{Deserialize, Serialize};

/// `FFFF`: every replica (as `dst`), or no leader known (as `leader`).
pub const BROADCAST: &str = "FFFF";

/// Formats an ID as four upper-case hexadecimal digits.
pub fn id(n: u16) -> String {
    format!("{n:04X}")
}

/// Parses four hexadecimal digits.
pub fn parse_id(text: &str) -> Result<u16, String> {
    if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{text:?} is not four hexadecimal digits"));
    }
    u16::from_str_radix(text, 16).map_err(|e| e.to_string())
}

/// `leader` field: the ID, or `FFFF` for unknown.
pub fn leader_field(leader: Option<NodeId>) -> String {
    leader.map_or_else(|| BROADCAST.to_string(), id)
}

fn parse_leader(text: &str) -> Result<Option<NodeId>, String> {
    if text == BROADCAST {
        Ok(None)
    } else {
        parse_id(text).map(Some)
    }
}

/// An entry on the wire: `[term]` for a no-op, or
/// `[term, client, MID, key, value]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum WireEntry {
    Put(Term, ClientId, String, String, String),
    Noop((Term,)),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WirePut(ClientId, String, String, String);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Body {
    Hello,
    Get {
        #[serde(rename = "MID")]
        mid: String,
        key: String,
    },
    Put {
        #[serde(rename = "MID")]
        mid: String,
        key: String,
        value: String,
    },
    Ok {
        #[serde(rename = "MID")]
        mid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    Fail {
        #[serde(rename = "MID")]
        mid: String,
    },
    Redirect {
        #[serde(rename = "MID")]
        mid: String,
    },
    Append {
        term: Term,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<WireEntry>,
        commit: Index,
        stamp: Time,
    },
    /// An [`AppendOutcome`] in the fields of Figure 2's reply: `success`,
    /// the `index` the outcome carries, the follower's `conflict_term`, and
    /// `refused` (omitted when false) for [`AppendOutcome::Refused`].
    AppendReply {
        term: Term,
        index: Index,
        success: bool,
        conflict_term: Option<Term>,
        #[serde(default, skip_serializing_if = "is_false")]
        refused: bool,
        stamp: Time,
    },
    Vote {
        term: Term,
        last_index: Index,
        last_term: Term,
        pre: bool,
    },
    VoteReply {
        term: Term,
        granted: bool,
        pre: bool,
        commit: Index,
    },
    Forward {
        term: Term,
        commands: Vec<WirePut>,
    },
    Probe {
        term: Term,
    },
    Commit {
        term: Term,
        index: Index,
    },
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Datagram {
    src: String,
    dst: String,
    leader: String,
    #[serde(flatten)]
    body: Body,
}

/// A decoded datagram, as a replica sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// From another replica.
    Peer { envelope: Envelope<Put> },
    /// From a client.
    Client(Request),
    /// Anything else well-formed (`hello`, client answers): not for a replica.
    Other(String),
}

fn to_entry(e: &Entry<Put>) -> WireEntry {
    match &e.command {
        None => WireEntry::Noop((e.term,)),
        Some(p) => WireEntry::Put(
            e.term,
            p.client,
            p.mid.clone(),
            p.key.clone(),
            p.value.clone(),
        ),
    }
}

fn from_entry(e: WireEntry) -> Entry<Put> {
    match e {
        WireEntry::Noop((term,)) => Entry {
            term,
            command: None,
        },
        WireEntry::Put(term, client, mid, key, value) => Entry {
            term,
            command: Some(Put {
                client,
                mid,
                key,
                value,
            }),
        },
    }
}

fn encode(src: u16, dst: String, leader: Option<NodeId>, body: Body) -> Vec<u8> {
    let d = Datagram {
        src: id(src),
        dst,
        leader: leader_field(leader),
        body,
    };
    serde_json::to_vec(&d).expect("datagrams serialise")
}

pub fn encode_hello(src: NodeId) -> Vec<u8> {
    encode(src, BROADCAST.into(), None, Body::Hello)
}

/// A message to another replica.
pub fn encode_envelope(e: &Envelope<Put>, leader: Option<NodeId>) -> Vec<u8> {
    let term = e.term;
    let body = match &e.message {
        Message::AppendEntries(a) => Body::Append {
            term,
            prev_index: a.prev_log_index,
            prev_term: a.prev_log_term,
            entries: a.entries.iter().map(to_entry).collect(),
            commit: a.leader_commit,
            stamp: a.stamp,
        },
        Message::AppendEntriesResponse(r) => {
            let (index, success, conflict_term, refused) = match r.outcome {
                AppendOutcome::Matched { index } => (index, true, None, false),
                AppendOutcome::Conflict { term, first_index } => {
                    (first_index, false, Some(term), false)
                }
                AppendOutcome::LogTooShort { next_index } => (next_index, false, None, false),
                AppendOutcome::Refused { next_index } => (next_index, false, None, true),
            };
            Body::AppendReply {
                term,
                index,
                success,
                conflict_term,
                refused,
                stamp: r.stamp,
            }
        }
        Message::RequestVote(r) => Body::Vote {
            term,
            last_index: r.last_log_index,
            last_term: r.last_log_term,
            pre: r.pre_vote,
        },
        Message::RequestVoteResponse(r) => Body::VoteReply {
            term,
            granted: r.granted,
            pre: r.pre_vote,
            commit: r.commit_index,
        },
        Message::Forward { commands } => Body::Forward {
            term,
            commands: commands
                .iter()
                .map(|p| WirePut(p.client, p.mid.clone(), p.key.clone(), p.value.clone()))
                .collect(),
        },
        Message::Probe => Body::Probe { term },
        Message::Commit { index } => Body::Commit {
            term,
            index: *index,
        },
    };
    encode(e.from, id(e.to), leader, body)
}

/// A replica's answer to a client.
pub fn encode_response(src: NodeId, r: &Response) -> Vec<u8> {
    let mid = r.mid.clone();
    let body = match &r.reply {
        Reply::Ok { value } => Body::Ok {
            mid,
            value: value.clone(),
        },
        Reply::Fail => Body::Fail { mid },
        Reply::Redirect => Body::Redirect { mid },
    };
    encode(src, id(r.client), r.leader, body)
}

/// A client's request to a replica (the grader's side).
pub fn encode_request(dst: NodeId, r: &Request) -> Vec<u8> {
    let mid = r.mid.clone();
    let body = match &r.op {
        Op::Get { key } => Body::Get {
            mid,
            key: key.clone(),
        },
        Op::Put { key, value } => Body::Put {
            mid,
            key: key.clone(),
            value: value.clone(),
        },
    };
    encode(r.client, id(dst), None, body)
}

fn parse(bytes: &[u8]) -> Result<Datagram, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))
}

/// Decodes a datagram that reached replica `me`. `is_peer` tells replica IDs
/// from others.
pub fn decode_for_replica(
    bytes: &[u8],
    me: NodeId,
    is_peer: impl Fn(NodeId) -> bool,
) -> Result<Incoming, String> {
    let d = parse(bytes)?;
    let src = parse_id(&d.src).map_err(|e| format!("src: {e}"))?;
    parse_leader(&d.leader).map_err(|e| format!("leader: {e}"))?;
    if d.dst != BROADCAST && parse_id(&d.dst).map_err(|e| format!("dst: {e}"))? != me {
        return Err(format!("addressed to {}, not to me", d.dst));
    }
    let body = match client_request(src, d.body) {
        Ok(request) => return Ok(Incoming::Client(request)),
        Err(body) => body,
    };
    let (term, message) = match peer_message(body) {
        Ok(found) => found,
        Err(other) => return Ok(Incoming::Other(format!("{other:?}"))),
    };
    if !is_peer(src) {
        return Err(format!("replica message from unknown replica {}", d.src));
    }
    let envelope = Envelope {
        from: src,
        to: me,
        term,
        message,
    };
    Ok(Incoming::Peer { envelope })
}

/// A client's get or put; any other body is handed back.
fn client_request(client: ClientId, body: Body) -> Result<Request, Body> {
    let (mid, op) = match body {
        Body::Get { mid, key } => (mid, Op::Get { key }),
        Body::Put { mid, key, value } => (mid, Op::Put { key, value }),
        other => return Err(other),
    };
    Ok(Request { client, mid, op })
}

/// What an AppendEntries reply's fields say, as the core's outcome.
fn append_outcome(
    index: Index,
    success: bool,
    conflict_term: Option<Term>,
    refused: bool,
) -> AppendOutcome {
    match (success, conflict_term, refused) {
        (true, _, _) => AppendOutcome::Matched { index },
        (false, _, true) => AppendOutcome::Refused { next_index: index },
        (false, Some(term), false) => AppendOutcome::Conflict {
            term,
            first_index: index,
        },
        (false, None, false) => AppendOutcome::LogTooShort { next_index: index },
    }
}

/// A replica's message as the core's, with its term; any other body is
/// handed back. One arm per message type of this project's protocol.
fn peer_message(body: Body) -> Result<(Term, Message<Put>), Body> {
    Ok(match body {
        Body::Append {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
            stamp,
        } => {
            let append = AppendEntries {
                prev_log_index: prev_index,
                prev_log_term: prev_term,
                entries: entries.into_iter().map(from_entry).collect(),
                leader_commit: commit,
                stamp,
            };
            (term, Message::AppendEntries(append))
        }
        Body::AppendReply {
            term,
            index,
            success,
            conflict_term,
            refused,
            stamp,
        } => {
            let outcome = append_outcome(index, success, conflict_term, refused);
            let reply = AppendEntriesResponse { outcome, stamp };
            (term, Message::AppendEntriesResponse(reply))
        }
        Body::Vote {
            term,
            last_index,
            last_term,
            pre,
        } => {
            let vote = RequestVote {
                last_log_index: last_index,
                last_log_term: last_term,
                pre_vote: pre,
            };
            (term, Message::RequestVote(vote))
        }
        Body::VoteReply {
            term,
            granted,
            pre,
            commit,
        } => {
            let reply = RequestVoteResponse {
                granted,
                pre_vote: pre,
                commit_index: commit,
            };
            (term, Message::RequestVoteResponse(reply))
        }
        Body::Forward { term, commands } => {
            let commands = commands.into_iter().map(from_wire_put).collect();
            (term, Message::Forward { commands })
        }
        Body::Probe { term } => (term, Message::Probe),
        Body::Commit { term, index } => (term, Message::Commit { index }),
        other => return Err(other),
    })
}

fn from_wire_put(WirePut(client, mid, key, value): WirePut) -> Put {
    Put {
        client,
        mid,
        key,
        value,
    }
}

/// The addressing of any datagram: `(src, dst, leader)`, `dst` `None` for
/// `FFFF`. What the grader reads of every message.
pub fn header(bytes: &[u8]) -> Result<(u16, Option<u16>, Option<NodeId>), String> {
    #[derive(Deserialize)]
    struct Header {
        src: String,
        dst: String,
        leader: String,
        #[serde(rename = "type")]
        _kind: String,
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let h: Header = serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))?;
    let src = parse_id(&h.src).map_err(|e| format!("src: {e}"))?;
    let dst = match h.dst.as_str() {
        BROADCAST => None,
        d => Some(parse_id(d).map_err(|e| format!("dst: {e}"))?),
    };
    let leader = parse_leader(&h.leader).map_err(|e| format!("leader: {e}"))?;
    Ok((src, dst, leader))
}

/// Decodes a replica's answer to a client (the grader's side). `Ok(None)`
/// for a well-formed message of another type.
pub fn decode_response(bytes: &[u8]) -> Result<Option<Response>, String> {
    let d = parse(bytes)?;
    let client = parse_id(&d.dst).map_err(|e| format!("dst: {e}"))?;
    let leader = parse_leader(&d.leader).map_err(|e| format!("leader: {e}"))?;
    let (mid, reply) = match d.body {
        Body::Ok { mid, value } => (mid, Reply::Ok { value }),
        Body::Fail { mid } => (mid, Reply::Fail),
        Body::Redirect { mid } => (mid, Reply::Redirect),
        _ => return Ok(None),
    };
    Ok(Some(Response {
        client,
        mid,
        leader,
        reply,
    }))
}

/// Whether `bytes` is the `hello` of replica `id`.
pub fn is_hello(bytes: &[u8], id: NodeId) -> bool {
    matches!(parse(bytes), Ok(Datagram { src, body: Body::Hello, .. }) if parse_id(&src) == Ok(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(message: Message<Put>) {
        let e = Envelope {
            from: 1,
            to: 3,
            term: 9,
            message,
        };
        let bytes = encode_envelope(&e, Some(1));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains(r#""src":"0001","dst":"0003","leader":"0001""#),
            "{text}"
        );
        let back = decode_for_replica(&bytes, 3, |p| p < 5).unwrap();
        assert_eq!(back, Incoming::Peer { envelope: e });
    }

    #[test]
    fn replica_messages_round_trip() {
        let put = Put {
            client: 0x15,
            mid: "M1".into(),
            key: "k".into(),
            value: "v".into(),
        };
        roundtrip(Message::AppendEntries(AppendEntries {
            prev_log_index: 4,
            prev_log_term: 2,
            entries: vec![
                Entry {
                    term: 3,
                    command: None,
                },
                Entry {
                    term: 3,
                    command: Some(put.clone()),
                },
            ],
            leader_commit: 4,
            stamp: 77,
        }));
        for outcome in [
            AppendOutcome::Matched { index: 4 },
            AppendOutcome::Conflict {
                term: 2,
                first_index: 2,
            },
            AppendOutcome::LogTooShort { next_index: 3 },
            AppendOutcome::Refused { next_index: 0 },
        ] {
            let stamp = 77;
            roundtrip(Message::AppendEntriesResponse(AppendEntriesResponse {
                outcome,
                stamp,
            }));
        }
        roundtrip(Message::RequestVote(RequestVote {
            last_log_index: 5,
            last_log_term: 3,
            pre_vote: true,
        }));
        roundtrip(Message::RequestVoteResponse(RequestVoteResponse {
            granted: true,
            pre_vote: false,
            commit_index: 4,
        }));
        roundtrip(Message::Forward {
            commands: vec![put],
        });
        roundtrip(Message::Probe);
        roundtrip(Message::Commit { index: 7 });
    }

    #[test]
    fn client_messages_in_the_course_format() {
        let get = br#"{"src": "0015", "dst": "0002", "leader": "FFFF", "type": "get", "MID": "X1", "key": "K"}"#;
        let expected = Request {
            client: 0x15,
            mid: "X1".into(),
            op: Op::Get { key: "K".into() },
        };
        assert_eq!(
            decode_for_replica(get, 2, |p| p < 5),
            Ok(Incoming::Client(expected.clone()))
        );
        let r = Response {
            client: 0x15,
            mid: "X1".into(),
            leader: Some(2),
            reply: Reply::Ok {
                value: Some("V".into()),
            },
        };
        let bytes = encode_response(2, &r);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"src":"0002","dst":"0015","leader":"0002","type":"ok","MID":"X1","value":"V"}"#
        );
        assert_eq!(decode_response(&bytes), Ok(Some(r)));
        let put_ok = Response {
            client: 0x15,
            mid: "X2".into(),
            leader: None,
            reply: Reply::Ok { value: None },
        };
        let text = String::from_utf8(encode_response(2, &put_ok)).unwrap();
        assert!(
            text.ends_with(r#""leader":"FFFF","type":"ok","MID":"X2"}"#),
            "{text}"
        );
        assert!(is_hello(&encode_hello(4), 4));
        assert_eq!(
            header(&encode_request(2, &expected)),
            Ok((0x15, Some(2), None))
        );
    }

    #[test]
    fn bad_datagrams_are_errors() {
        let cases: [&[u8]; 8] = [
            b"not json",
            b"\xff\xfe{}",
            br#"{"src": "0001"}"#,
            br#"{"src": 1, "dst": "0002", "leader": "FFFF", "type": "get", "MID": "a", "key": "k"}"#,
            br#"{"src": "0015", "dst": "0002", "leader": "FFFF", "type": "teleport"}"#,
            br#"{"src": "0009", "dst": "0002", "leader": "FFFF", "type": "vote", "term": 1, "last_index": 0, "last_term": 0, "pre": false}"#,
            br#"{"src": "001", "dst": "0002", "leader": "FFFF", "type": "get", "MID": "a", "key": "k"}"#,
            br#"{"src": "0015", "dst": "0003", "leader": "FFFF", "type": "get", "MID": "a", "key": "k"}"#,
        ];
        for bytes in cases {
            let r = decode_for_replica(bytes, 2, |p| p < 5);
            assert!(
                r.is_err(),
                "{:?} gave {r:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(parse_id("00ab"), Ok(0xAB));
        assert!(parse_id("0x1").is_err() && parse_id("12345").is_err());
    }
}
