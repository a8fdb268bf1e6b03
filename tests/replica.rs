//! The built `3700kvstore` as a real process: bad input never kills it.

use raftplay::kv::{Op, Reply, Request};
use raftplay::wire;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REPLICA: &str = env!("CARGO_BIN_EXE_3700kvstore");

struct Running {
    child: Child,
    socket: UdpSocket,
    replica: std::net::SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-replica cluster (it elects itself) with us as its simulator.
fn start() -> Running {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let child = Command::new(REPLICA)
        .args([&port, "0000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 65_536];
    let (n, replica) = socket.recv_from(&mut buf).expect("hello within 10 s");
    assert!(wire::is_hello(&buf[..n], 0), "the first message is hello");
    Running {
        child,
        socket,
        replica,
    }
}

impl Running {
    fn send(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.replica).unwrap();
    }

    /// Sends a request and waits for the answer to its MID (the replica may
    /// hold it until it has elected itself).
    fn ask(&self, mid: &str, op: Op) -> Reply {
        let request = Request {
            client: 0x11,
            mid: mid.into(),
            op,
        };
        self.send(&wire::encode_request(0, &request));
        let mut buf = [0u8; 65_536];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let n = self.socket.recv(&mut buf).expect("an answer");
            if let Ok(Some(r)) = wire::decode_response(&buf[..n])
                && r.mid == mid
            {
                return r.reply;
            }
        }
        panic!("no answer to {mid}");
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn put(key: &str, value: &str) -> Op {
    Op::Put {
        key: key.into(),
        value: value.into(),
    }
}

#[test]
fn malformed_datagrams_are_dropped_and_the_replica_keeps_serving() {
    let mut r = start();
    assert_eq!(r.ask("p1", put("k", "v1")), Reply::Ok { value: None });
    let huge = vec![b'x'; 60_000];
    let garbage: Vec<&[u8]> = vec![
        b"not json at all",
        b"",
        b"\xff\xfe\xfd invalid utf-8",
        br#"{"src": "0011", "dst": "0000"}"#,
        br#"{"src": 17, "dst": "0000", "leader": "FFFF", "type": "get", "MID": "x", "key": "k"}"#,
        br#"{"src": "0011", "dst": "0000", "leader": "FFFF", "type": "get", "MID": 5, "key": "k"}"#,
        br#"{"src": "0011", "dst": "0000", "leader": "FFFF", "type": "launch", "MID": "x"}"#,
        br#"{"src": "0007", "dst": "0000", "leader": "0007", "type": "append", "term": 99, "prev_index": 0, "prev_term": 0, "entries": [], "commit": 0, "stamp": 0}"#,
        br#"{"src": "0007", "dst": "0000", "leader": "0007", "type": "vote", "term": 99, "last_index": 9, "last_term": 9, "pre": false}"#,
        br#"[1, 2, 3]"#,
        br#"{"src": "ZZZZ", "dst": "0000", "leader": "FFFF", "type": "put", "MID": "x", "key": "k", "value": "evil"}"#,
        &huge,
    ];
    for bytes in &garbage {
        r.send(bytes);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        r.alive(),
        "still running after {} bad datagrams",
        garbage.len()
    );
    assert_eq!(
        r.ask("g1", Op::Get { key: "k".into() }),
        Reply::Ok {
            value: Some("v1".into())
        }
    );
    assert_eq!(r.ask("p2", put("k", "v2")), Reply::Ok { value: None });
    assert_eq!(
        r.ask("g2", Op::Get { key: "k".into() }),
        Reply::Ok {
            value: Some("v2".into())
        }
    );
    let big_value = "v".repeat(40_000);
    assert_eq!(
        r.ask("p3", put("big", &big_value)),
        Reply::Fail,
        "too big for a datagram"
    );
    assert!(r.alive());
}

#[test]
fn bad_arguments_print_usage_and_exit_2() {
    for args in [
        &[][..],
        &["70000", "0000"],
        &["4000", "xyz"],
        &["4000", "0001", "0001"],
    ] {
        let out = Command::new(REPLICA).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("usage: 3700kvstore"), "{args:?}: {stderr}");
    }
}
