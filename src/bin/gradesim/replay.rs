//! `gradesim replay RUN.json`: replays a run exported from the playground
//! (or a saved record) and prints every event with its reason, then the
//! safety lights; or a counterexample written by `gradesim explore`, step
//! by step, then the check it breaks. Exits 1 if a light is red or a check
//! broke, so that a student's finding can be kept as a test.

use raftplay::explore::Counterexample;
use raftplay::playground::export;
use std::path::Path;

/// Prints the replay; `Ok(true)` if every light stayed green.
pub fn replay(args: &[String]) -> Result<bool, String> {
    let [path] = args else {
        return Err("replay needs one file: gradesim replay RUN.json".into());
    };
    let text = std::fs::read_to_string(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
    if let Some(file) = raftplay::explore::Counterexample::parse(&text) {
        return replay_explored(path, file.map_err(|e| format!("{path}: {e}"))?);
    }
    let record = export::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    let replayed = export::replay(record).map_err(|e| format!("{path}: {e}"))?;
    for e in &replayed.events {
        println!("{:>10.3} {}", e.time_ms / 1000.0, e.text);
    }
    println!("replayed {:.3} s", replayed.end_ms / 1000.0);
    let mut green = true;
    for light in &replayed.lights {
        match &light.text {
            None => println!("  ok    {}", light.name),
            Some(text) => {
                green = false;
                let at = light.at_ms.unwrap_or_default() / 1000.0;
                println!("  BROKE {} at {at:.3} s: {text}", light.name);
            }
        }
    }
    Ok(green)
}

/// A counterexample of `gradesim explore`: replayed with the options it
/// was found with; `Ok(false)` when it still breaks a check.
fn replay_explored(path: &str, file: Counterexample) -> Result<bool, String> {
    let replayed = raftplay::explore::replay(&file.explore, &file.found.events)
        .map_err(|e| format!("{path}: {e}"))?;
    super::explore::print_replayed(&replayed);
    match &replayed.broken {
        Some(b) => {
            println!("VIOLATION {}", b.what);
            Ok(false)
        }
        None => {
            println!("no check broke: the core or the checks changed since it was found");
            Ok(true)
        }
    }
}
