//! Breadth-first search over [`World`]s, level by level, and the replay of
//! a path as the trace's sentences.
//!
//! A level's states are expanded in order (on native targets split over
//! `threads` workers, whose results are merged in that same order), so a
//! search gives the same states, the same counts and the same
//! counterexample whatever the number of threads.

use super::Options;
use super::world::{Broken, Event, World};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Why a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// A check broke: see [`Report::found`].
    Found,
    /// No new state was left: every run within the budgets was seen.
    Exhausted,
    /// Every run of `depth` events was seen.
    Depth,
    /// The state bound was reached inside a level.
    States,
    /// The caller asked to stop.
    Cancelled,
}

/// A shortest path to a broken check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub events: Vec<Event>,
    pub broken: Broken,
}

/// A counterexample as a file (`gradesim explore --out`): the options it
/// was found with, so that a replay rebuilds the same start, and the path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counterexample {
    pub explore: Options,
    #[serde(flatten)]
    pub found: Found,
}

impl Counterexample {
    /// Reads a file's text; `None` if it is not a counterexample at all
    /// (another kind of file), an error if it is one but malformed.
    pub fn parse(text: &str) -> Option<Result<Counterexample, String>> {
        /// Whether the text is a JSON object with an `explore` field
        /// (read without building its values).
        #[derive(Deserialize)]
        struct Probe {
            explore: Option<serde::de::IgnoredAny>,
        }
        serde_json::from_str::<Probe>(text).ok()?.explore?;
        Some(serde_json::from_str(text).map_err(|e| e.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Distinct states seen (the start included).
    pub states: u64,
    /// Events applied in the search, those that led to a state already
    /// seen included.
    pub transitions: u64,
    /// Levels fully expanded: every run this long was seen.
    pub depth: usize,
    pub stop: Stop,
    pub found: Option<Found>,
}

/// Where a search stands after a level, for progress lines.
#[derive(Clone, Copy, Debug)]
pub struct Level {
    pub depth: usize,
    pub states: u64,
    pub frontier: usize,
}

/// Every state seen, as the event that first reached it from its parent
/// (an index into the same arena; the start is 0, its own parent). A
/// state is rebuilt by replaying its path from the start, so the search
/// keeps a few words per state, not the states: memory stays in the tens
/// of bytes per state however large the nodes are.
struct Arena {
    reached: Vec<(u32, Event)>,
}

impl Arena {
    fn path(&self, mut at: u32) -> Vec<Event> {
        let mut events = Vec::new();
        while at != 0 {
            let (parent, event) = self.reached[at as usize];
            events.push(event);
            at = parent;
        }
        events.reverse();
        events
    }

    /// The state at `at`, replayed from `start`.
    fn rebuild(&self, start: &World, options: &Options, at: u32) -> Result<World, String> {
        let mut world = start.clone();
        for event in self.path(at) {
            world.apply(options, event)?;
        }
        Ok(world)
    }
}

/// One successor not seen before its level: parent, event, fingerprint,
/// and the check it broke.
type Child = (u32, Event, u64, Option<Broken>);

/// A batch's new successors, and how many events it applied.
type Expanded = (Vec<Child>, u64);

/// Searches breadth-first; `on_level` is told after each level and stops
/// the search by returning false.
pub fn search(
    options: &Options,
    mut on_level: impl FnMut(&Level) -> bool,
) -> Result<Report, String> {
    options.validate()?;
    let start = World::start(options, false)?;
    let mut seen: HashSet<u64> = HashSet::from([start.fingerprint()]);
    let placeholder = Event::Timer { node: 0 };
    let mut arena = Arena {
        reached: vec![(0, placeholder)],
    };
    let mut report = Report {
        states: 1,
        transitions: 0,
        depth: 0,
        stop: Stop::Depth,
        found: None,
    };
    let mut frontier: Vec<u32> = vec![0];
    while report.depth < options.depth {
        let mut next = Vec::new();
        for batch in frontier.chunks(BATCH) {
            let shared = Shared {
                start: &start,
                arena: &arena,
                options,
                seen: &seen,
            };
            let (children, applied) = expand(batch, shared)?;
            report.transitions += applied;
            let visited = (&mut seen, &mut arena);
            if merge(
                children,
                visited,
                &mut report,
                options.max_states,
                &mut next,
            ) {
                return Ok(report);
            }
        }
        frontier = next;
        report.depth += 1;
        let level = Level {
            depth: report.depth,
            states: report.states,
            frontier: frontier.len(),
        };
        if frontier.is_empty() {
            report.stop = Stop::Exhausted;
            return Ok(report);
        }
        if !on_level(&level) {
            report.stop = Stop::Cancelled;
            return Ok(report);
        }
    }
    Ok(report)
}

/// Adds a batch's successors not seen before to the visited set, the
/// arena and the next level, in the batch's order; true when the search
/// stops there (a check broke, or the state bound was reached).
fn merge(
    children: Vec<Child>,
    (seen, arena): (&mut HashSet<u64>, &mut Arena),
    report: &mut Report,
    max_states: u64,
    next: &mut Vec<u32>,
) -> bool {
    for (parent, event, fp, broken) in children {
        if !seen.insert(fp) {
            continue;
        }
        let at = arena.reached.len() as u32;
        arena.reached.push((parent, event));
        report.states += 1;
        if let Some(broken) = broken {
            let events = arena.path(at);
            report.stop = Stop::Found;
            report.found = Some(Found { events, broken });
            return true;
        }
        if report.states >= max_states {
            report.stop = Stop::States;
            return true;
        }
        next.push(at);
    }
    false
}

/// States expanded between two merges into the visited set: bounds the
/// successors held at once.
const BATCH: usize = 8192;

/// What every worker of a level reads: the start, the paths so far, the
/// options and the states seen before this batch.
#[derive(Clone, Copy)]
struct Shared<'a> {
    start: &'a World,
    arena: &'a Arena,
    options: &'a Options,
    seen: &'a HashSet<u64>,
}

/// The successors of a batch of states not already seen, in the batch's
/// order (a transition to a seen state is counted, not kept).
fn expand(batch: &[u32], shared: Shared<'_>) -> Result<Expanded, String> {
    let threads = shared.options.threads.min(batch.len() / 64 + 1);
    if threads <= 1 || cfg!(target_arch = "wasm32") {
        return expand_part(batch, shared);
    }
    let chunk = batch.len().div_ceil(threads);
    let parts: Vec<Result<Expanded, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|part| scope.spawn(move || expand_part(part, shared)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("an explorer worker panicked".into()))
            })
            .collect()
    });
    let mut all = (Vec::new(), 0);
    for part in parts {
        let (children, applied) = part?;
        all.0.extend(children);
        all.1 += applied;
    }
    Ok(all)
}

fn expand_part(part: &[u32], shared: Shared<'_>) -> Result<Expanded, String> {
    let Shared {
        start,
        arena,
        options,
        seen,
    } = shared;
    let mut out = Vec::new();
    let mut applied = 0;
    // Siblings come together: rebuild each parent once.
    let mut parent: Option<(u32, World)> = None;
    for &at in part {
        let (up, event) = arena.reached[at as usize];
        let world = if at == 0 {
            start.clone()
        } else {
            if parent.as_ref().is_none_or(|(p, _)| *p != up) {
                parent = Some((up, arena.rebuild(start, options, up)?));
            }
            let mut w = parent.as_ref().expect("just set").1.clone();
            w.apply(options, event)?;
            w
        };
        for event in world.enabled(options) {
            let mut next = world.clone();
            let broken = next.apply(options, event)?;
            applied += 1;
            let child = next.fingerprint();
            if !seen.contains(&child) {
                out.push((at, event, child, broken));
            }
        }
    }
    Ok((out, applied))
}

/// A path replayed with the trace on: for each event, what it was and the
/// sentences it caused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    /// The start's own sentences (the election of [`super::Start::Leader`]).
    pub prelude: Vec<String>,
    pub steps: Vec<Step>,
    pub broken: Option<Broken>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub event: Event,
    /// The event in words.
    pub what: String,
    /// Clock after it, in seconds.
    pub at: f64,
    pub lines: Vec<String>,
}

/// Replays `events` from the start; an event not enabled where the path
/// has it is an error (the file does not match these options).
pub fn replay(options: &Options, events: &[Event]) -> Result<Replayed, String> {
    options.validate()?;
    let mut world = World::start(options, true)?;
    let mut printed = world.cluster().trace().len();
    let prelude = world.cluster().trace()[..printed]
        .iter()
        .map(|e| e.kind.to_string())
        .collect();
    let mut steps = Vec::new();
    let mut broken = None;
    for (n, &event) in events.iter().enumerate() {
        if !world.enabled(options).contains(&event) {
            return Err(format!("step {}: {event:?} is not enabled there", n + 1));
        }
        let what = world.describe(event);
        broken = world.apply(options, event)?;
        let trace = world.cluster().trace();
        let lines = trace[printed..]
            .iter()
            .map(|e| e.kind.to_string())
            .collect();
        printed = trace.len();
        let at = crate::raft::time::as_secs(world.cluster().now());
        steps.push(Step {
            event,
            what,
            at,
            lines,
        });
        if broken.is_some() {
            break;
        }
    }
    Ok(Replayed {
        prelude,
        steps,
        broken,
    })
}
