//! The transitions: [`step`] and the pure schedule functions the shell calls after each step.

use super::{Ctx, Input, Stepped};
use crate::error::Result;
use crate::saga::record::SessionRecord;

/// Applies `input` to `record` and returns the intents to run now. The new intents are already
/// in `record.intents`; the shell saves the record (with them) before running any. A refused
/// command returns `Err` and leaves `record` as it was.
pub fn step(record: &mut SessionRecord, input: Input, ctx: &Ctx) -> Result<Stepped> {
    let mut next = record.clone();
    let stepped = apply(&mut next, input, ctx)?;
    *record = next;
    Ok(stepped)
}

fn apply(_record: &mut SessionRecord, _input: Input, _ctx: &Ctx) -> Result<Stepped> {
    Ok(Stepped::default())
}

/// When the alarm must fire next (unix seconds), or `None` for no alarm.
pub fn next_alarm_at_s(_record: &SessionRecord, _now_s: i64) -> Option<i64> {
    None
}

/// Whether the reconciliation cron must watch this session (an external leg or a refund open).
pub fn needs_tracking(_record: &SessionRecord) -> bool {
    false
}
