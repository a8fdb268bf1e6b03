//! The page's explore mode, natively: time stands still, the student picks
//! each event, undo takes it back, and the explorer's counterexamples play
//! on the page's own cluster.

use raftplay::explore::Event;
use raftplay::playground::{self, Action, Playground, PlaygroundOptions};
use raftplay::raft::{Bug, RoleKind};

const SECOND: u64 = 1_000_000;

fn explore(p: &mut Playground) {
    let on = Action::Explore {
        on: true,
        link_capacity: None,
    };
    p.act(on).unwrap();
}

fn choose(p: &mut Playground, event: Event) {
    p.act(Action::Choose { event }).unwrap();
}

/// What the page sees of the cluster, to compare states.
fn snapshot(p: &Playground) -> String {
    format!("{:?} {:?} {}", p.nodes(), p.messages(), p.now())
}

#[test]
fn time_stands_still_and_messages_wait_to_be_chosen() {
    let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
    p.advance_to(1_640_000).unwrap();
    explore(&mut p);
    let held = p.messages();
    assert!(!held.is_empty(), "heartbeats were on their way");
    assert!(held.iter().all(|m| m.held.is_some() && m.lost.is_none()));
    let before = snapshot(&p);
    p.advance_to(5 * SECOND).unwrap();
    assert_eq!(snapshot(&p), before, "nothing happens unless chosen");
    assert!(
        p.choices()
            .iter()
            .any(|c| matches!(c.event, Event::Timer { .. }))
    );
}

#[test]
fn a_later_message_is_delivered_first_and_undo_takes_it_back() {
    let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
    // Heartbeats are on their way to every follower.
    p.advance_to(1_640_000).unwrap();
    explore(&mut p);
    let held = p.messages();
    assert!(held.len() >= 2, "{held:?}");
    let before = snapshot(&p);
    let last = held.len() - 1;
    choose(&mut p, Event::Deliver { message: last });
    let after = p.messages();
    assert!(
        after.iter().all(
            |m| m.text != held[last].text || (m.from, m.to) != (held[last].from, held[last].to)
        ),
        "the chosen message is gone"
    );
    assert_eq!(after[0].text, held[0].text, "the older one still waits");
    assert_ne!(snapshot(&p), before);
    p.undo().unwrap();
    assert_eq!(snapshot(&p), before, "undo is the state before the choice");
    // Undo never takes back the entering.
    assert!(p.undo().is_err());
}

#[test]
fn leaving_explore_mode_resumes_time_from_that_state() {
    let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
    p.advance_to(2 * SECOND).unwrap();
    explore(&mut p);
    let leader = p.cluster().leader().expect("a leader after 2 s");
    // Drop everything, then let the followers' timers fire: a new election.
    while let Some(i) = p.messages().first().and_then(|m| m.held) {
        choose(&mut p, Event::Drop { message: i });
    }
    choose(&mut p, Event::Crash { node: leader });
    let t = p.now();
    p.act(Action::Explore {
        on: false,
        link_capacity: None,
    })
    .unwrap();
    p.advance_to(t + 3 * SECOND).unwrap();
    let leaders: Vec<_> = p
        .nodes()
        .into_iter()
        .filter(|n| n.role == Some(RoleKind::Leader))
        .collect();
    assert_eq!(leaders.len(), 1, "time ran on and a new leader was elected");
    assert_ne!(leaders[0].id, leader);
}

#[test]
fn a_run_with_choices_reopens_from_its_record() {
    let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
    p.advance_to(SECOND).unwrap();
    explore(&mut p);
    for _ in 0..6 {
        let c = p.choices();
        let pick = c
            .iter()
            .rev()
            .find(|c| matches!(c.event, Event::Deliver { .. }));
        let event = pick.map_or(c[c.len() - 1].event, |c| c.event);
        choose(&mut p, event);
    }
    let again = Playground::restore(p.record()).unwrap();
    assert_eq!(snapshot(&again), snapshot(&p));
    assert_eq!(again.choices(), p.choices());
}

#[test]
fn choosing_outside_explore_mode_is_refused() {
    let mut p = Playground::new(PlaygroundOptions::default()).unwrap();
    let err = p.act(Action::Choose {
        event: Event::Deliver { message: 0 },
    });
    assert!(err.unwrap_err().contains("explore mode"));
    let err = p.act(Action::Choose {
        event: Event::Timer { node: 7 },
    });
    assert!(err.unwrap_err().contains("no node S8"));
}

/// The explorer's shortest counterexample for a planted bug, found on the
/// page's own options and played on a page cluster, turns that check's
/// light red.
fn plays_red(bug: Bug, depth: usize) {
    let options = PlaygroundOptions {
        nodes: 3,
        hunt: Some(PlaygroundOptions::hunt_for(bug)),
        ..PlaygroundOptions::default()
    };
    let search = playground::search_options(&options, Some(bug), depth, 400_000).unwrap();
    let plan = playground::plan(&search, |_| true)
        .unwrap()
        .unwrap_or_else(|| panic!("{bug:?} not found"));
    let mut p = Playground::new(PlaygroundOptions {
        nodes: plan.nodes,
        batch: plan.batch,
        ..options
    })
    .unwrap();
    p.act(Action::Explore {
        on: true,
        link_capacity: plan.link_capacity,
    })
    .unwrap();
    for &event in plan
        .prelude
        .iter()
        .chain(plan.steps.iter().map(|s| &s.event))
    {
        assert!(
            p.lights().iter().all(|l| l.ok),
            "{bug:?}: red before the last step"
        );
        p.act(Action::Choose { event }).unwrap();
    }
    let red: Vec<_> = p.lights().into_iter().filter(|l| !l.ok).collect();
    let names = |l: &&playground::checks::LightView| {
        l.name == plan.broken.check
            || l.text
                .as_ref()
                .is_some_and(|t| t.starts_with(&plan.broken.check))
    };
    assert!(
        red.iter().any(|l| names(&l)),
        "{bug:?}: the plan breaks {} but the page shows {red:?}",
        plan.broken.check
    );
}

#[test]
fn counterexamples_play_on_the_page_cluster() {
    plays_red(Bug::ForgetVotedFor, 4);
    plays_red(Bug::AcceptStaleTerm, 5);
    plays_red(Bug::LongLease, 5);
}

/// A counterexample file of `gradesim explore` (the replica's own timeouts,
/// not the page's) opens on the page at the moment its check broke, with
/// that check's light red; one whose rules the page cannot set says which.
#[test]
fn a_counterexample_file_opens_on_the_page_with_its_light_red() {
    use raftplay::explore::{self, Counterexample, Requests, Start};
    let mut o = explore::Options {
        depth: 5,
        start: Start::Leader,
        requests: Requests::Leaders,
        link_capacity: Some(1),
        threads: 2,
        ..explore::Options::default()
    };
    o.raft.max_append_entries = 1;
    let cases = [
        (Some(Bug::ForgetVotedFor), 0.0),
        (Some(Bug::LongLease), 0.0),
        (None, 0.1),
    ];
    for (bug, drift) in cases {
        let mut o = o.clone();
        o.raft.bug = bug;
        o.drift = drift;
        let found = explore::search(&o, |_| true).unwrap().found.unwrap();
        let (file, _) = playground::counterexample::file(&Counterexample {
            explore: o.clone(),
            found: found.clone(),
        });
        let record = playground::export::parse(&file.to_string()).unwrap();
        // It still replays as the search's path.
        assert!(Counterexample::parse(&file.to_string()).unwrap().is_ok());
        let p = Playground::restore(record.clone()).unwrap();
        let red: Vec<_> = p.lights().into_iter().filter(|l| !l.ok).collect();
        assert!(
            red.iter().any(|l| l.name == found.broken.check
                || l.text
                    .as_ref()
                    .is_some_and(|t| t.starts_with(&found.broken.check))),
            "{bug:?}: {} broke, the page shows {red:?}",
            found.broken.check
        );
        let link = playground::counterexample::link_fragment(&record);
        assert!(link.starts_with("#run=ey"), "{link}");
    }
    o.raft.commit_notice = raftplay::raft::CommitNotice::Never;
    let found = explore::search(&o.for_bug(Bug::LongLease), |_| true)
        .unwrap()
        .found
        .unwrap();
    let (file, record) = playground::counterexample::file(&Counterexample { explore: o, found });
    let why = record.unwrap_err();
    assert!(why.contains("commit_notice"), "{why}");
    let err = playground::export::parse(&file.to_string()).unwrap_err();
    assert!(err.contains("without the page's run"), "{err}");
}
