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
        let Some(ticket) = self.begin(at_s) else {
            return Ok(());
        };
        match at_s {
            Some(at) => storage.set_alarm((at - now_s()).max(1) * 1000).await?,
            None => storage.delete_alarm().await?,
        }
        self.written(ticket, at_s);
        Ok(())
    }

    /// The stored alarm may have changed (it fired, or was moved without [`Alarm::write`]).
    pub fn forget(&self) {
        self.writes.set(self.writes.get() + 1);
        self.known.set(None);
    }

    /// A write of `at_s` about to begin: its ticket, or `None` when the alarm is known to be that
    /// already. Until the write ends, the alarm is not known.
    fn begin(&self, at_s: Option<i64>) -> Option<u64> {
        if self.known.get() == Some(at_s) {
            return None;
        }
        self.forget();
        Some(self.writes.get())
    }

    /// The write with `ticket` succeeded: the alarm is `at_s`, unless another write or a
    /// [`Alarm::forget`] came after it began.
    fn written(&self, ticket: u64, at_s: Option<i64>) {
        if self.writes.get() == ticket {
            self.known.set(Some(at_s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Alarm;

    #[test]
    fn the_same_alarm_is_written_once_and_a_forgotten_one_again() {
        let alarm = Alarm::default();
        let ticket = alarm.begin(Some(100)).expect("unknown at start: written");
        alarm.written(ticket, Some(100));
        assert_eq!(alarm.begin(Some(100)), None);
        let ticket = alarm.begin(None).expect("another time: written");
        alarm.written(ticket, None);
        assert_eq!(alarm.begin(None), None, "no alarm is not deleted again");
        alarm.forget();
        assert!(
            alarm.begin(None).is_some(),
            "after it fired, nothing is known"
        );
    }

    #[test]
    fn a_write_that_failed_or_was_overtaken_leaves_the_alarm_unknown() {
        let alarm = Alarm::default();
        // Failed: `written` never called.
        let _failed = alarm.begin(Some(100));
        assert!(alarm.begin(Some(100)).is_some());
        // Overtaken: a later write began before the first ended.
        let first = alarm.begin(Some(200)).unwrap();
        let second = alarm.begin(Some(300)).unwrap();
        alarm.written(first, Some(200));
        assert!(
            alarm.begin(Some(200)).is_some(),
            "200 is not what the alarm is"
        );
        let third = alarm.begin(Some(300)).unwrap();
        alarm.written(second, Some(300));
        alarm.written(third, Some(300));
        assert_eq!(alarm.begin(Some(300)), None);
        // Moved by something else while a write was under way.
        let ticket = alarm.begin(Some(400)).unwrap();
        alarm.forget();
        alarm.written(ticket, Some(400));
        assert!(alarm.begin(Some(400)).is_some());
    }
}
