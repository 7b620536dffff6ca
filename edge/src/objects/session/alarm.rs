//! The session's alarm, written only when it changes. After each commit the alarm is set to the
//! saga's next due time (or the outbox's backstop); a payment commits twice within a second or
//! so, often for the same time, and a session with no alarm was told to delete it again. Both are
//! storage writes (`setAlarm`, `deleteAlarm`).
//!
//! [`Alarm`] remembers what this instance last wrote: a time (unix seconds) or "none". A write of
//! the same is skipped. What is remembered is forgotten wherever the stored alarm may have changed
//! without it: when the alarm fires (the runtime deletes it once the handler ends), while a write
//! is under way or after one failed, and when something else moves it
//! (`objects::alarm_within`, the alarm handler's own retry). A restart starts knowing nothing,
//! so its first write always happens.

use std::cell::Cell;
use std::rc::Rc;

use worker::Storage;

use crate::clock::now_s;
use crate::error::Result;

/// What the stored alarm is known to be, shared with the outbox's delivery (which puts the
/// saga's time back after its hand-over).
#[derive(Debug, Clone, Default)]
pub(super) struct Alarm {
    /// `Some(Some(at_s))`: set for `at_s`; `Some(None)`: none; `None`: not known.
    known: Rc<Cell<Option<Option<i64>>>>,
    /// Writes begun so far: a write that ends after a later one began says nothing.
    writes: Rc<Cell<u64>>,
}

impl Alarm {
    /// Sets the alarm for `at_s` (at least a second from now), or deletes it for `None`, unless
    /// this instance already wrote exactly that.
    pub async fn write(&self, storage: &Storage, at_s: Option<i64>) -> Result<()> {
        if self.known.get() == Some(at_s) {
            return Ok(());
        }
        let write = self.writes.get() + 1;
        self.writes.set(write);
        self.known.set(None);
        match at_s {
            Some(at) => storage.set_alarm((at - now_s()).max(1) * 1000).await?,
            None => storage.delete_alarm().await?,
        }
        if self.writes.get() == write {
            self.known.set(Some(at_s));
        }
        Ok(())
    }

    /// The stored alarm may have changed (it fired, or was moved without [`Alarm::write`]).
    pub fn forget(&self) {
        self.writes.set(self.writes.get() + 1);
        self.known.set(None);
    }
}
