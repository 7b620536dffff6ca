//! `checkout:change`, whenever the shopper picks another method or changes the split (not for
//! the choice the widget starts with). What a choice pays comes from the split rules, which the
//! first view does not carry: reporting is a lazily loaded part, started once the session shows.

use checkout_core::api::PaymentMethod;
use leptos::prelude::*;

use super::Model;
use crate::state::{choice, Choice, Problem, Session};

/// What the shopper has chosen, as the model holds it.
#[derive(Clone)]
pub(super) struct ChoiceInputs {
    session: Session,
    method: PaymentMethod,
    use_points: bool,
    use_balance: bool,
    points_entry: Option<String>,
}

/// The model's choice now, without subscribing (`None` before a session and a method).
pub(super) fn choice_inputs(model: Model) -> Option<ChoiceInputs> {
    Some(ChoiceInputs {
        session: model.session.get_untracked()?,
        method: model.method.get_untracked()?,
        use_points: model.use_points.get_untracked(),
        use_balance: model.use_balance.get_untracked(),
        points_entry: model.points_entry.get_untracked(),
    })
}

lazy_part! {
    change_reports, preload_change_reports,
    /// Starts reporting changes from `first`, the choice the widget showed first; a lazily loaded
    /// part (`components/parts.rs`).
    pub(super) fn report_changes(
        model: Model,
        owner: Owner,
        first: Option<ChoiceInputs>,
    ) -> Result<(), Problem> = report_changes_part
}

/// The first choice is read when the session shows, not when this part arrives: a change the
/// shopper makes meanwhile is still reported. The effect belongs to the widget's owner, so
/// unmounting the widget ends it.
fn report_changes_part(
    model: Model,
    owner: Owner,
    first: Option<ChoiceInputs>,
) -> Result<(), Problem> {
    let last = StoredValue::new(first.map(|inputs| what_it_pays(&inputs)));
    owner.with(|| {
        Effect::new(move |_| {
            model.session.track();
            model.method.track();
            model.use_points.track();
            model.use_balance.track();
            model.points_entry.track();
            let now = choice_inputs(model).map(|inputs| what_it_pays(&inputs));
            if let (Some((id, before)), Some((now_id, choice))) = (last.get_value(), &now) {
                if id == *now_id && before != *choice {
                    model.events.with_value(|e| e.change(now_id, choice));
                }
            }
            last.set_value(now);
        });
    });
    Ok(())
}

/// The session's id and what the choice pays.
fn what_it_pays(inputs: &ChoiceInputs) -> (String, Choice) {
    let paid = choice(
        &inputs.session,
        inputs.method,
        inputs.use_points,
        inputs.use_balance,
        inputs.points_entry.as_deref(),
    );
    (inputs.session.id.clone(), paid)
}
