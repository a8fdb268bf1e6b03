//! A run as a file: what the page exports and imports, and what
//! `gradesim replay` reads, so that a student's finding becomes a test.
//!
//! An export holds the run itself (options, the actions that took effect,
//! the moment shown: a [`RunRecord`], exactly what a link holds) and, for a
//! person reading the file, the latest events with their reasons. Replaying
//! the record rebuilds everything else.

use super::checks::LightView;
use super::model::{EventView, Playground, RECORD_VERSION, RunRecord};
use serde::{Deserialize, Serialize};

/// The `format` field of an export.
pub const FORMAT: &str = "raftplay-run";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    pub format: String,
    pub record: RunRecord,
    /// The latest events, with their reasons (not read back: the record
    /// replays to the same ones).
    #[serde(default)]
    pub events: Vec<EventView>,
}

pub fn export(p: &Playground) -> Export {
    Export {
        format: FORMAT.to_string(),
        record: p.record(),
        events: p.recent_events(),
    }
}

/// The run in `text`: an export, a bare record (as a link holds it), or a
/// counterexample of `gradesim explore` (played on the page's cluster).
/// Errors say what the file is not.
pub fn parse(text: &str) -> Result<RunRecord, String> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON file: {e}"))?;
    if value.get("explore").is_some() {
        // The page's run of it, written beside the path by `gradesim
        // explore` ([`super::counterexample::file`]).
        let Some(record) = value.get_mut("record").map(serde_json::Value::take) else {
            return Err(
                "a counterexample without the page's run of it: its rules are not ones the page can set, or an older gradesim explore wrote it (run it again)"
                    .into(),
            );
        };
        let record = serde_json::from_value(record)
            .map_err(|e| format!("a counterexample with a malformed run: {e}"))?;
        return check(record);
    }
    let is_export = value.get("format").is_some();
    if is_export {
        let format = value["format"].as_str().unwrap_or_default();
        if format != FORMAT {
            return Err(format!(
                "not a raftplay run: its format is {:?}, not {FORMAT:?}",
                value["format"]
            ));
        }
        let export: Export =
            serde_json::from_value(value).map_err(|e| format!("a malformed run: {e}"))?;
        return check(export.record);
    }
    let record: RunRecord = serde_json::from_value(value)
        .map_err(|e| format!("neither a raftplay run nor a saved record: {e}"))?;
    check(record)
}

fn check(record: RunRecord) -> Result<RunRecord, String> {
    if record.version != RECORD_VERSION {
        return Err(format!(
            "made by version {} of the playground; this is version {RECORD_VERSION}",
            record.version
        ));
    }
    Ok(record)
}

/// What replaying a run gives: every event from the start, and the lights
/// at its end.
pub struct Replayed {
    pub events: Vec<EventView>,
    pub lights: Vec<LightView>,
    pub end_ms: f64,
}

/// Replays `record` from the start to its moment, keeping every event.
pub fn replay(record: RunRecord) -> Result<Replayed, String> {
    let (mut p, time) = Playground::restore_at_start(record)?;
    p.keep_every_event();
    p.seek(time)?;
    Ok(Replayed {
        events: p.recent_events(),
        lights: p.lights(),
        end_ms: crate::raft::time::as_millis(p.now()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playground::model::{Action, PlaygroundOptions};

    #[test]
    fn an_export_reads_back_and_replays_to_the_same_events() {
        let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
        p.advance_to(1_500_000).unwrap();
        p.act(Action::Crash { node: 0 }).unwrap();
        p.advance_to(4_000_000).unwrap();
        let text = serde_json::to_string(&export(&p)).unwrap();
        let record = parse(&text).unwrap();
        assert_eq!(record, p.record());
        let replayed = replay(record).unwrap();
        assert_eq!(replayed.end_ms, 4_000.0);
        let tail = &replayed.events[replayed.events.len() - p.recent_events().len()..];
        assert_eq!(tail, p.recent_events());
    }

    #[test]
    fn a_foreign_file_is_a_clear_error() {
        assert!(parse("nope").unwrap_err().starts_with("not a JSON file"));
        let other = r#"{"format": "something-else", "record": {}}"#;
        assert!(parse(other).unwrap_err().contains("not a raftplay run"));
        assert!(
            parse("{}")
                .unwrap_err()
                .starts_with("neither a raftplay run")
        );
    }
}
