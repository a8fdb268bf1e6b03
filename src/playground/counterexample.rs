//! A counterexample of `gradesim explore` as a run of the page: the same
//! cluster (the search's options as the page's), explore mode on, then the
//! first election and the path, each event chosen as the student would
//! choose it. `gradesim explore` writes that run into the counterexample's
//! file beside the path (its `record`, which the page's import opens) and
//! prints the link (`#run=`: the record's JSON in unpadded base64url, as
//! `www/link.js` reads it). The conversion runs natively: the page reads
//! the record alone, so its module carries no reader of the search's
//! options.
//!
//! Owns the conversion and the link's encoding; the events are the
//! explorer's own ([`crate::explore::Event`]), played by the page's model.

use super::model::{Action, Playground, PlaygroundOptions, RunRecord};
use crate::explore::{Counterexample, Options as ExploreOptions, World};
use crate::raft::time::as_millis;

/// The run of the page that plays `c`: the record a link or an import
/// opens, at the moment its check broke.
pub fn record(c: &Counterexample) -> Result<RunRecord, String> {
    let options = page_options(&c.explore)?;
    let mut p = Playground::new(options)?;
    p.act(Action::Explore {
        on: true,
        link_capacity: c.explore.link_capacity,
    })?;
    let (_, prelude) = World::start_with_prelude(&c.explore, false)?;
    for (n, &event) in prelude.iter().chain(&c.found.events).enumerate() {
        p.act(Action::Choose { event }).map_err(|e| {
            let at = n
                .checked_sub(prelude.len())
                .map_or(format!("event {} of the first election", n + 1), |k| {
                    format!("step {}", k + 1)
                });
            format!("its {at} does not play on the page: {e}")
        })?;
    }
    Ok(p.record())
}

/// The counterexample's file: the search's options and path, and the
/// page's run of it (`record`) when the page can run its cluster; if it
/// cannot, why not.
pub fn file(c: &Counterexample) -> (serde_json::Value, Result<RunRecord, String>) {
    let mut value = serde_json::to_value(c).expect("a counterexample is plain data");
    let record = record(c);
    if let Ok(r) = &record {
        value["record"] = serde_json::to_value(r).expect("a record is plain data");
    }
    (value, record)
}

/// The page's options for the search's cluster, or why the page cannot
/// run it (a rule or size the page has no control for).
fn page_options(e: &ExploreOptions) -> Result<PlaygroundOptions, String> {
    let r = &e.raft;
    let options = PlaygroundOptions {
        nodes: e.nodes,
        seed: e.seed,
        election_timeout_min_ms: as_millis(r.election_timeout_min),
        election_timeout_max_ms: as_millis(r.election_timeout_max),
        heartbeat_ms: as_millis(r.heartbeat_interval),
        retry_ms: Some(as_millis(r.retry_timeout)),
        pre_vote: r.pre_vote,
        check_quorum: r.check_quorum,
        read_mode: r.read_mode,
        fanout: r.fanout,
        vote_guard: r.vote_guard,
        forward: r.forward,
        probe: r.probe,
        batch: r.max_append_entries,
        hunt: r.bug.map(PlaygroundOptions::hunt_for),
        ..PlaygroundOptions::default()
    };
    let page = options
        .cluster_options()
        .map_err(|e| format!("the page cannot run its cluster: {e}"))?
        .raft;
    let searched = crate::raft::Config {
        explain: page.explain,
        ..r.clone()
    };
    let differ = differences(&searched, &page);
    if !differ.is_empty() {
        return Err(format!(
            "the page cannot set all of its rules: {}",
            differ.join(", ")
        ));
    }
    Ok(options)
}

/// "name searched (the page: value)" for each field of two configs that
/// differs (read field by field: no JSON values in the page's module).
fn differences(searched: &crate::raft::Config, page: &crate::raft::Config) -> Vec<String> {
    macro_rules! differing {
        ($($field:ident),*) => {{
            let mut out = Vec::new();
            $(if searched.$field != page.$field {
                out.push(format!(
                    "{} {:?} (the page: {:?})",
                    stringify!($field),
                    searched.$field,
                    page.$field
                ));
            })*
            out
        }};
    }
    let out = differing!(
        election_timeout_min,
        election_timeout_max,
        heartbeat_interval,
        retry_timeout,
        max_append_entries,
        max_append_bytes,
        pre_vote,
        check_quorum,
        read_mode,
        fanout,
        commit_notice,
        spare_below,
        vote_guard,
        forward,
        probe,
        bug
    );
    if out.is_empty() && searched != page {
        return vec!["a rule the page does not show".to_string()];
    }
    out
}

/// The fragment that opens `record` on the page: `#run=` and the record's
/// JSON in unpadded base64url.
pub fn link_fragment(record: &RunRecord) -> String {
    let json = serde_json::to_string(record).expect("a record is plain data");
    format!("#run={}", base64url(json.as_bytes()))
}

/// Unpadded base64url (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648() {
        // RFC 4648 §10's vectors, unpadded; and the URL-safe letters.
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, encoded) in cases {
            assert_eq!(base64url(text.as_bytes()), encoded);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
