//! A test-only "replica" that answers every request at once from a local map,
//! without replicating anything: the floor for the grader's latency, since
//! no real replica can answer faster. Not correct under faults, by design.
//!
//!     cargo build --release --example instant_replica
//!     gradesim udp <configs> --replica target/release/examples/instant_replica

use raftplay::kv::{Op, Reply, Response};
use raftplay::wire::{self, Incoming};
use std::collections::HashMap;
use std::net::UdpSocket;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(port), Some(me)) = (
        args.first(),
        args.get(1).and_then(|i| wire::parse_id(i).ok()),
    ) else {
        eprintln!("usage: instant_replica <UDP port> <own ID> [<peer ID> ...]");
        std::process::exit(2);
    };
    let socket = UdpSocket::bind(("127.0.0.1", 0)).expect("bind");
    socket
        .connect(("127.0.0.1", port.parse::<u16>().expect("port")))
        .expect("connect");
    socket.send(&wire::encode_hello(me)).expect("hello");
    let mut data: HashMap<String, String> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok(n) = socket.recv(&mut buf) else {
            continue;
        };
        let Ok(Incoming::Client(request)) = wire::decode_for_replica(&buf[..n], me, |_| false)
        else {
            continue;
        };
        let value = match request.op {
            Op::Get { key } => Some(data.get(&key).cloned().unwrap_or_default()),
            Op::Put { key, value } => {
                data.insert(key, value);
                None
            }
        };
        let response = Response {
            client: request.client,
            mid: request.mid,
            leader: Some(me),
            reply: Reply::Ok { value },
        };
        let _ = socket.send(&wire::encode_response(me, &response));
    }
}
