//! The WebAssembly API in a real browser (headless Chromium), through
//! `cargo test --target wasm32-unknown-unknown --test wasm` with
//! `wasm-bindgen-test-runner` as the runner and `CHROMEDRIVER` set (as
//! scripts/test.sh does). Plain `cargo test` skips this file.
#![cfg(target_arch = "wasm32")]

use raftplay::playground::wasm::Playground;
use serde::Deserialize;
use serde_wasm_bindgen::from_value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Deserialize, Debug, PartialEq)]
struct Node {
    id: u16,
    alive: bool,
    role: Option<String>,
    term: u64,
    commit: u64,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Event {
    time_ms: f64,
    text: String,
}

fn options(seed: u64) -> JsValue {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"seed".into(), &JsValue::from_f64(seed as f64)).unwrap();
    o.into()
}

fn nodes(p: &Playground) -> Vec<Node> {
    from_value(p.nodes().unwrap()).unwrap()
}

fn leader(p: &Playground) -> Option<u16> {
    nodes(p)
        .into_iter()
        .find(|n| n.role.as_deref() == Some("leader"))
        .map(|n| n.id)
}

fn kv_has(p: &Playground, node: u16, key: &str, value: &str) -> bool {
    let pairs: Vec<(String, String)> = from_value(p.kv(node).unwrap()).unwrap();
    pairs.contains(&(key.to_string(), value.to_string()))
}

#[wasm_bindgen_test]
fn a_leader_is_elected() {
    let mut p = Playground::new(options(1)).unwrap();
    p.advance(3000.0).unwrap();
    assert!(leader(&p).is_some());
    assert!((p.now_ms() - 3000.0).abs() < 1e-9);
}

#[wasm_bindgen_test]
fn a_put_commits_on_a_majority_and_reads_back() {
    let mut p = Playground::new(options(2)).unwrap();
    p.advance(3000.0).unwrap();
    p.put("x".into(), "1".into(), None).unwrap();
    p.advance(1000.0).unwrap();
    let holders = (0..5).filter(|&n| kv_has(&p, n, "x", "1")).count();
    assert!(holders >= 3);
    p.get("x".into(), None).unwrap();
    p.advance(500.0).unwrap();
    let events: Vec<Event> = from_value(p.events().unwrap()).unwrap();
    assert!(events.iter().any(|e| e.text.contains("ok, value \"1\"")));
}

#[wasm_bindgen_test]
fn crashing_the_leader_yields_a_new_one_that_serves_the_put() {
    let mut p = Playground::new(options(3)).unwrap();
    p.advance(3000.0).unwrap();
    p.put("x".into(), "1".into(), None).unwrap();
    p.advance(1000.0).unwrap();
    let old = leader(&p).unwrap();
    p.crash(old).unwrap();
    p.advance(3000.0).unwrap();
    let new = leader(&p).unwrap();
    assert_ne!(new, old);
    assert!(kv_has(&p, new, "x", "1"));
}

#[wasm_bindgen_test]
fn a_minority_partition_cannot_commit_and_heals() {
    let mut p = Playground::new(options(4)).unwrap();
    p.advance(3000.0).unwrap();
    let l = leader(&p).unwrap();
    let groups = serde_wasm_bindgen::to_value(&vec![vec![l, (l + 1) % 5]]).unwrap();
    p.partition(groups).unwrap();
    p.put("m".into(), "1".into(), Some(l)).unwrap();
    p.advance(3000.0).unwrap();
    assert!(!kv_has(&p, l, "m", "1"));
    p.heal().unwrap();
    p.advance(3000.0).unwrap();
    let now = leader(&p).unwrap();
    assert!(kv_has(&p, now, "m", "1"));
    assert_eq!(p.violation(), None);
}

fn scripted(seed: u64) -> Playground {
    let mut p = Playground::new(options(seed)).unwrap();
    p.advance(2000.0).unwrap();
    p.set_auto(true).unwrap();
    p.advance(1500.0).unwrap();
    p.crash(0).unwrap();
    for _ in 0..40 {
        p.step().unwrap();
    }
    p.restart(0).unwrap();
    p.advance(1500.0).unwrap();
    p
}

#[wasm_bindgen_test]
fn same_seed_and_actions_give_the_same_events_also_after_scrubbing() {
    let a = scripted(5);
    let b = scripted(5);
    let ea: Vec<Event> = from_value(a.recent_events().unwrap()).unwrap();
    let eb: Vec<Event> = from_value(b.recent_events().unwrap()).unwrap();
    assert_eq!(ea, eb);
    let mut a = a;
    let end = a.now_ms();
    let before = nodes(&a);
    a.seek(1000.0).unwrap();
    a.seek(end).unwrap();
    assert_eq!(nodes(&a), before);
    let reopened = Playground::restore(a.record().unwrap()).unwrap();
    assert_eq!(nodes(&reopened), before);
}

#[wasm_bindgen_test]
fn bad_options_raise_errors() {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"nodes".into(), &JsValue::from_f64(42.0)).unwrap();
    let e = Playground::new(o.into())
        .err()
        .expect("42 nodes are refused");
    let message = JsValue::from(e);
    let text = js_sys::Reflect::get(&message, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(text.contains("between 3 and 9"), "{text}");
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"colour".into(), &"red".into()).unwrap();
    assert!(Playground::new(o.into()).is_err(), "unknown option");
    let mut p = Playground::new(JsValue::UNDEFINED).unwrap();
    assert!(p.crash(9).is_err());
}

#[derive(Deserialize, Debug)]
struct Light {
    name: String,
    ok: bool,
}

#[derive(Deserialize, Debug)]
struct HistoryOp {
    key: String,
    put: Option<String>,
    response_ms: Option<f64>,
}

#[derive(Deserialize, Debug)]
struct Hunted {
    name: String,
    rule: String,
}

#[wasm_bindgen_test]
fn lights_history_and_hunts_cross_the_boundary() {
    let mut p = Playground::new(options(6)).unwrap();
    p.advance(3000.0).unwrap();
    p.put("x".into(), "1".into(), None).unwrap();
    p.advance(500.0).unwrap();
    let lights: Vec<Light> = from_value(p.lights().unwrap()).unwrap();
    assert_eq!(lights.len(), 6);
    assert_eq!(lights[0].name, "Election Safety");
    assert!(lights.iter().all(|l| l.ok));
    let history: Vec<HistoryOp> = from_value(p.history().unwrap()).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].key.as_str(), history[0].put.as_deref()),
        ("x", Some("1"))
    );
    assert!(history[0].response_ms.is_some(), "the put was answered");
    assert!(p.hunted_bug().unwrap().is_null());
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"hunt".into(), &JsValue::from_f64(0.0)).unwrap();
    let hunt = Playground::new(o.into()).unwrap();
    let bug: Hunted = from_value(hunt.hunted_bug().unwrap()).unwrap();
    assert_eq!(bug.name, "commit_old_terms");
    assert!(bug.rule.starts_with("§5.4.2"));
}

#[wasm_bindgen_test]
fn an_exported_run_parses_back_and_reopens() {
    let mut p = Playground::new(options(7)).unwrap();
    p.advance(2000.0).unwrap();
    p.crash(1).unwrap();
    p.advance(1000.0).unwrap();
    let text = p.export_run().unwrap();
    let record = Playground::parse_run(&text).unwrap();
    let mut reopened = Playground::restore_at_start(record).unwrap();
    reopened.seek(p.now_ms()).unwrap();
    assert_eq!(nodes(&reopened), nodes(&p));
    assert!(Playground::parse_run("{\"format\": \"other\"}").is_err());
}
