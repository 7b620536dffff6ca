//! The harness for cross-process tests, shared with `cargo xtask` (dev, bench).
//!
//! - [`dev_vars`]: the git-ignored `.dev.vars` with the dev secrets, generated on first set-up.
//! - [`worker`]: starts the built Worker in workerd through `wrangler dev` on a free loopback
//!   port, with its own persist folder, and stops it (process group) when dropped.
//! - [`api`]: a small blocking HTTP client for the checkout's JSON API.
//! - [`fixtures`]: a Worker with the demo merchant's keys and the calls most tests make.
//! - [`webdriver`]: a minimal W3C WebDriver client for Debian's chromium and chromedriver.
//! - [`providers`]: starts the provider simulators with the dev credentials, and the Worker
//!   variables that point the Worker at them.
//! - [`recorder`]: a recording proxy in front of a Worker, and the search for a card number in
//!   what it recorded, the Worker's log and its storage.
//! - [`status_socket`]: a WebSocket client for the widget's pushed status.
//! - [`shop`]: the demo shop in Chromium with a provider simulator beside the Worker.
//!
//! The tests themselves live in `tests/tests/`, one file per area.

pub mod api;
pub mod dev_vars;
pub mod fixtures;
pub mod providers;
pub mod recorder;
pub mod shop;
pub mod status_socket;
pub mod webdriver;
pub mod worker;

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A free TCP port on 127.0.0.1 (free when asked; bound by the caller right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A fresh folder under the git-ignored `.state/`, unique to this process and `label`.
pub fn temp_dir(label: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = repo_root()
        .join(".state")
        .join("tmp")
        .join(format!("{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp folder");
    dir
}
