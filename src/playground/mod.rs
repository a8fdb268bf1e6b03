//! The playground: a simulated cluster a student drives by hand in the
//! browser.
//!
//! - [`model`]: the run (options, the user's actions, replay) and the views
//!   the page draws; plain Rust, tested natively.
//! - `wasm`: the wasm-bindgen class over the model, compiled for `wasm32`
//!   only. It owns the crossing of the boundary and nothing else.
//! - `grader`: the course grader's configs run in the page (wasm32 only).
//! - [`hunt`]: the hints of a bug hunt.
//! - [`export`], [`counterexample`]: a run as a file or a link, and a
//!   counterexample of `gradesim explore` as a run of the page.
//!
//! Must not touch the core's rules: everything it shows comes from
//! [`crate::sim::Cluster`] and the nodes in it.

pub mod checks;
pub mod counterexample;
pub mod export;
#[cfg(target_arch = "wasm32")]
pub mod grader;
pub mod hunt;
pub mod model;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use model::*;
