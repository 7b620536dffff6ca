//! The words for problems (the messages for the API's error codes, in every language, and the
//! other problem texts with the strings they use) are a lazily loaded part: a shopper who meets no
//! problem does not download them. They are fetched in the background after the first view
//! (`components/parts.rs`), so they are almost always there before they are needed.
//!
//! [`describe`] is synchronous, for views: while the part is on its way it says so, starts the
//! fetch, and subscribes the calling view, which renders again when the words arrive.

// Natively (the unit tests) nothing is split: `Locale::problem_text` describes directly, and the
// loading machinery below goes unused.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Locale;
use crate::state::Problem;

/// What [`describe`] has for a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Words {
    Ready(String),
    /// The part is on its way.
    Loading,
    /// The part could not be fetched; the next lookup tries again.
    Unavailable,
}

/// [`Locale::describe_problem`], handed out by the part.
type Describe = fn(Locale, &Problem, bool) -> String;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Loading,
    Failed,
}

thread_local! {
    static DESCRIBE: Cell<Option<Describe>> = const { Cell::new(None) };
    static STATE: Cell<State> = const { Cell::new(State::Absent) };
    /// Bumped when the part arrives or fails, to re-render the views that asked meanwhile.
    static CHANGED: ArcTrigger = ArcTrigger::new();
}

lazy_part! {
    error_words, preload_error_words,
    /// The problem words' part (`components/parts.rs`): hands out the description it contains.
    pub fn error_words() -> Result<Describe, Problem> = error_words_part
}

fn error_words_part() -> Result<Describe, Problem> {
    Ok(Locale::describe_problem)
}

/// The text of `problem` in `locale` (with the attempts left, if asked), if the part is here. The
/// first ask starts the fetch; after a failed fetch it does not ask again (that would retry in a
/// loop, each failure re-rendering the asking views): the next [`load`], with the next problem
/// reported, tries again.
pub fn describe(locale: Locale, problem: &Problem, with_attempts: bool) -> Words {
    if let Some(describe) = DESCRIBE.with(Cell::get) {
        return Words::Ready(describe(locale, problem, with_attempts));
    }
    CHANGED.with(|changed| changed.track());
    match STATE.with(Cell::get) {
        State::Failed => Words::Unavailable,
        State::Absent | State::Loading => {
            fetch();
            Words::Loading
        }
    }
}

/// Waits for the part (fetching it if need be); `Err` when it cannot be had. Either way the views
/// that asked meanwhile render again.
pub async fn load() -> Result<(), Problem> {
    if DESCRIBE.with(Cell::get).is_some() {
        return Ok(());
    }
    let loaded = error_words().await;
    let state = match loaded {
        Ok(describe) => {
            DESCRIBE.with(|d| d.set(Some(describe)));
            State::Absent
        }
        Err(_) => State::Failed,
    };
    STATE.with(|s| s.set(state));
    CHANGED.with(|changed| changed.notify());
    loaded.map(|_| ())
}

/// Starts fetching the part unless a fetch is under way.
fn fetch() {
    if STATE.with(Cell::get) == State::Loading {
        return;
    }
    STATE.with(|s| s.set(State::Loading));
    spawn_local(async {
        let _ = load().await;
    });
}
