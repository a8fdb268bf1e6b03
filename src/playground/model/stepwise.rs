//! Explore mode: time stands still and the student picks every event.
//!
//! Entering it switches the cluster to step-by-step driving
//! ([`Cluster::set_stepwise`]): messages wait on their links until one is
//! delivered, dropped or duplicated, and a timer fires only when chosen.
//! The events are the explorer's own ([`crate::explore::Event`]), applied
//! by the same cluster controls, so a counterexample the explorer found
//! plays here event by event. Each choice is an action of the run, so
//! undo replays the run without its last choice, and a link keeps them.
//!
//! Owns the mode's state (the link capacity, the puts made) and the
//! choices offered; the rules and checks are the cluster's.

use super::{Action, Playground};
use crate::explore::world::{self, Faults};
use crate::explore::{self, Event, Options as ExploreOptions, Requests, Start, Timing};
use crate::kv::Op;
use crate::raft::{Bug, Time};
use crate::sim::Loss;
use serde::{Deserialize, Serialize};

/// The explore mode in effect.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Stepwise {
    /// At most this many messages wait on one link (the oldest is pushed
    /// out), as the explorer's search may assume.
    pub link_capacity: Option<usize>,
    /// Puts chosen as [`Event::Put`] so far (each writes the next value).
    pub puts: u32,
}

/// An event the student may choose now, and what it means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub event: Event,
    pub text: String,
}

impl Playground {
    /// Whether explore mode is on.
    pub fn exploring(&self) -> bool {
        self.stepwise.is_some()
    }

    pub(super) fn explore(&mut self, on: bool, link_capacity: Option<usize>) -> Result<(), String> {
        match (on, self.stepwise.is_some()) {
            (true, true) => return Err("explore mode is already on".into()),
            (false, false) => return Err("explore mode is not on".into()),
            _ => {}
        }
        if on {
            self.stepwise = Some(Stepwise {
                link_capacity,
                puts: 0,
            });
            self.cluster.set_stepwise(true);
            self.settle_step()
        } else {
            self.settle_step()?;
            self.stepwise = None;
            self.cluster.set_stepwise(false);
            self.auto.next_at = self.auto.next_at.max(self.cluster.now());
            Ok(())
        }
    }

    /// Makes one chosen event happen.
    pub(super) fn choose(&mut self, event: Event) -> Result<(), String> {
        let Some(mode) = self.stepwise.as_mut() else {
            return Err("events are chosen in explore mode only".into());
        };
        let c = &mut self.cluster;
        match event {
            Event::Clocks { fast, ppm } => world::set_clocks(c, fast, ppm)?,
            Event::Deliver { message } => c.deliver_held_at(message, false)?,
            Event::RoundTrip { message } => c.round_trip(message)?,
            Event::Duplicate { message } => c.deliver_held_at(message, true)?,
            Event::Drop { message } => c.drop_held_at(message, Loss::Dropped)?,
            Event::Timer { node } => c.fire(node)?,
            Event::Wait { node } => c.fire_until(node)?,
            Event::Campaign { node } => c.campaign(node)?,
            Event::Crash { node } => c.crash(node)?,
            Event::Restart { node } => c.restart(node)?,
            Event::Put { node } => {
                mode.puts += 1;
                let (key, value) = (world::KEY.to_string(), format!("v{}", mode.puts));
                self.request(node, Op::Put { key, value }, None);
            }
            Event::Get { node } => {
                let key = world::KEY.to_string();
                self.request(node, Op::Get { key }, None);
            }
        }
        Ok(())
    }

    /// After any action in explore mode: answers reach the client at once,
    /// and links over their capacity lose their oldest messages.
    pub(super) fn settle_step(&mut self) -> Result<(), String> {
        let Some(mode) = self.stepwise else {
            return Ok(());
        };
        for d in self.cluster.take_answers() {
            self.on_response(d.from, d.response);
        }
        if let Some(cap) = mode.link_capacity {
            self.cluster.cap_links(cap)?;
        }
        Ok(())
    }

    /// The events on messages and timers the student may choose now:
    /// deliver, duplicate or drop each waiting message, fire the timer due
    /// first, or let time pass until a later one fires. Empty outside
    /// explore mode (crashes, restarts and requests are actions of their
    /// own).
    pub fn choices(&self) -> Vec<Choice> {
        if self.stepwise.is_none() {
            return Vec::new();
        }
        let faults = Faults {
            shortcuts: false,
            duplicates: true,
            drops: true,
        };
        world::held_events(&self.cluster, faults, Timing::Prompt)
            .into_iter()
            .map(|event| Choice {
                event,
                text: world::describe(&self.cluster, event),
            })
            .collect()
    }

    /// Takes back the last action of explore mode (not the entering):
    /// the run is replayed without it. Later actions (after a scrub back)
    /// are discarded with it.
    pub fn undo(&mut self) -> Result<(), String> {
        let last = self.applied.checked_sub(1).map(|i| &self.actions[i].action);
        let undoable =
            self.exploring() && !matches!(last, None | Some(Action::Explore { on: true, .. }));
        if !undoable {
            return Err("nothing to undo: undo takes back what was done in explore mode".into());
        }
        let keep = self.applied - 1;
        self.actions.truncate(keep);
        self.rewind()?;
        while self.applied < keep && self.run_one(Time::MAX)? {}
        Ok(())
    }
}

/// The explorer's options for a search of the page's cluster with `bug`
/// planted, with the bounds of `gradesim explore --exam`: the same seed and
/// rules on three nodes with one entry per AppendEntries (so that an
/// acknowledgement can cover any prefix of a log, which is what the commit
/// rules are about), from an elected leader, client requests to leaders
/// only, one message per link, and small budgets of faults.
pub fn search_options(
    options: &super::PlaygroundOptions,
    bug: Option<Bug>,
    depth: usize,
    max_states: u64,
) -> Result<ExploreOptions, String> {
    let mut raft = options.cluster_options()?.raft;
    raft.bug = bug;
    raft.max_append_entries = 1;
    Ok(ExploreOptions {
        nodes: 3,
        seed: options.seed,
        raft,
        depth,
        max_states,
        start: Start::Leader,
        requests: Requests::Leaders,
        link_capacity: Some(1),
        // The exam's budgets (`gradesim explore --exam`): a dropped message
        // is one never delivered, and a copy or a second put catches no
        // planted bug sooner.
        crashes: 1,
        duplicates: 0,
        drops: 0,
        puts: 1,
        gets: 1,
        ..ExploreOptions::default()
    })
}

/// A shortest counterexample for the page to play: the events from a
/// fresh cluster to the explorer's start (the first election), then the
/// path, and the check it breaks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub prelude: Vec<Event>,
    pub steps: Vec<PlanStep>,
    pub broken: world::Broken,
    /// The cluster to play it on: its size, its entries per AppendEntries
    /// (`PlaygroundOptions::batch`) and its links' capacity, as searched.
    pub nodes: usize,
    pub batch: usize,
    pub link_capacity: Option<usize>,
    /// The search that found it.
    pub states: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    pub event: Event,
    pub what: String,
}

/// Where a search stands, for a progress line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub depth: usize,
    pub states: u64,
}

/// Searches breadth-first for a shortest run of the page's cluster that
/// breaks a check; `on_level` hears after each level and stops the
/// search by returning false. `Ok(None)`: nothing within the bounds.
pub fn plan(
    search: &ExploreOptions,
    mut on_level: impl FnMut(Progress) -> bool,
) -> Result<Option<Plan>, String> {
    let report = explore::search(search, |l| {
        on_level(Progress {
            depth: l.depth,
            states: l.states,
        })
    })?;
    let Some(found) = report.found else {
        return Ok(None);
    };
    let (_, prelude) = explore::World::start_with_prelude(search, false)?;
    let replayed = explore::replay(search, &found.events)?;
    Ok(Some(Plan {
        prelude,
        steps: replayed
            .steps
            .into_iter()
            .map(|s| PlanStep {
                event: s.event,
                what: s.what,
            })
            .collect(),
        broken: found.broken,
        nodes: search.nodes,
        batch: search.raft.max_append_entries,
        link_capacity: search.link_capacity,
        states: report.states,
    }))
}
