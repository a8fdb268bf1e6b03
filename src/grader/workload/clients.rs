//! Who asks what: the grader's eight clients, the keys they use, where
//! each request goes (the leader a client last heard of, or a replica at
//! random), and which MIDs each awaits. The only part of the workload that
//! draws from its RNG.
//!
//! Owns the clients' choices; the counting is [`super::Tally`]'s and the
//! record of operations [`super::History`]'s.

use super::*;

pub(super) struct Client {
    pub(super) id: ClientId,
    pub(super) leader: Option<NodeId>,
    /// Last acknowledged value of each key this client put.
    pub(super) acked: BTreeMap<String, String>,
    /// Keys in the order first acknowledged (for a deterministic random pick).
    pub(super) acked_keys: Vec<String>,
    /// Last value sent for each key this client put.
    pub(super) sent: BTreeMap<String, String>,
    pub(super) sent_keys: Vec<String>,
}

/// A MID sent and not yet answered.
pub(super) struct Waiting {
    pub(super) client: usize,
    pub(super) op: usize,
    pub(super) created: Time,
}

/// The eight clients: what they ask and where they send it.
pub struct Clients {
    pub(super) config: GraderConfig,
    pub(super) rng: ChaCha8Rng,
    pub(super) clients: Vec<Client>,
    pub(super) next_op: u64,
    pub(super) next_mid: u64,
    pub(super) waiting: BTreeMap<String, Waiting>,
}

impl Clients {
    pub(super) fn new(config: &GraderConfig, seed: u64) -> Self {
        let first = config.replicas as ClientId + FIRST_CLIENT_OFFSET;
        let clients = (0..CLIENTS as ClientId)
            .map(|i| Client {
                id: first + i,
                leader: None,
                acked: BTreeMap::new(),
                acked_keys: Vec::new(),
                sent: BTreeMap::new(),
                sent_keys: Vec::new(),
            })
            .collect();
        Clients {
            config: config.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ RNG_SALT),
            clients,
            next_op: 0,
            next_mid: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// A random live replica other than `except`.
    pub(super) fn pick(&mut self, alive: &[NodeId], except: Option<NodeId>) -> Option<NodeId> {
        let choices: Vec<NodeId> = alive
            .iter()
            .copied()
            .filter(|&a| Some(a) != except)
            .collect();
        choices.choose(&mut self.rng).copied()
    }

    /// The client's last known leader if alive, else a random live replica.
    pub(super) fn target(
        &mut self,
        ci: usize,
        hint: Option<NodeId>,
        alive: &[NodeId],
    ) -> Option<NodeId> {
        let leader = hint.or(self.clients[ci].leader);
        match leader.filter(|l| alive.contains(l)) {
            Some(l) => Some(l),
            None => self.pick(alive, None),
        }
    }

    pub(super) fn random_key(&mut self) -> String {
        (0..KEY_LENGTH)
            .map(|_| *KEY_ALPHABET.choose(&mut self.rng).unwrap() as char)
            .collect()
    }

    /// Draws the next operation: its client, whether a get was wanted, and
    /// what it asks (a put when a get was wanted but the client has no
    /// acknowledged key yet).
    pub(super) fn draw(&mut self) -> (usize, bool, Op) {
        let ci = self.rng.random_range(0..CLIENTS);
        let wants_get = self.rng.random_bool(self.config.mix);
        if wants_get && !self.clients[ci].acked_keys.is_empty() {
            let key = self.clients[ci].acked_keys.choose(&mut self.rng);
            let op = Op::Get {
                key: key.unwrap().clone(),
            };
            return (ci, true, op);
        }
        let client = &self.clients[ci];
        let reuse = !client.sent_keys.is_empty() && self.rng.random_bool(REUSE_KEY);
        let (key, value) = if reuse {
            let key = client.sent_keys.choose(&mut self.rng).unwrap().clone();
            let value = md5_hex(&client.sent[&key]);
            (key, value)
        } else {
            let key = self.random_key();
            let value = md5_hex(&key);
            (key, value)
        };
        let client = &mut self.clients[ci];
        if client.sent.insert(key.clone(), value.clone()).is_none() {
            client.sent_keys.push(key.clone());
        }
        (ci, wants_get, Op::Put { key, value })
    }

    /// A new MID for operation `op` of client `ci`, now awaited.
    pub(super) fn issue(&mut self, now: Time, ci: usize, op: usize, what: Op) -> Request {
        self.next_mid += 1;
        let mid = format!("{:08X}{:08X}", self.next_mid, self.rng.random::<u32>());
        self.waiting.insert(
            mid.clone(),
            Waiting {
                client: ci,
                op,
                created: now,
            },
        );
        Request {
            client: self.clients[ci].id,
            mid,
            op: what,
        }
    }
}
