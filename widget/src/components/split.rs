//! The split editor: add loyalty points (and, with an external method, store balance) and see
//! exactly how the total divides. The numbers come from the shared allocation rules.

use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::prelude::*;

use crate::i18n::{fill, format, Locale};
use crate::state::split;

#[component]
pub fn SplitEditor(
    /// The session being paid.
    session: WidgetSession,
    /// The method chosen in the list.
    chosen: RwSignal<Option<PaymentMethod>>,
    /// Whether points pay part of the total.
    use_points: RwSignal<bool>,
    /// Whether store balance pays part (with an external method).
    use_balance: RwSignal<bool>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.messages();
    let points_label = session.points.map(|p| {
        let available = format::count(p.available.unsigned_abs(), locale);
        fill(t.use_points, &[&available])
    });
    let balance_label = session.balance.as_ref().map(|b| {
        let available = format::amount(&b.available, b.currency, locale);
        fill(t.use_balance, &[&available])
    });
    let external_chosen = move || {
        chosen
            .get()
            .is_some_and(|m| !matches!(m, PaymentMethod::Balance | PaymentMethod::Points))
    };
    let breakdown_session = session.clone();
    let breakdown = move || {
        let method = chosen.get()?;
        let lines = match split(
            &breakdown_session,
            method,
            use_points.get(),
            use_balance.get(),
        ) {
            Ok(Some(allocation)) => {
                let value = breakdown_session.points.and_then(|p| {
                    p.rules
                        .value_of(allocation.points, breakdown_session.currency)
                        .ok()
                });
                let mut lines = Vec::new();
                if let Some(value) = value.filter(|v| !v.is_zero()) {
                    let points = format::count(allocation.points.unsigned_abs(), locale);
                    let value = format::money(value, locale);
                    lines.push(fill(t.points_line, &[&points, &value]));
                }
                if !allocation.balance.is_zero() {
                    let balance = format::money(allocation.balance, locale);
                    lines.push(fill(t.balance_line, &[&balance]));
                }
                if let Some((m, amount)) = allocation.external {
                    lines.push(format!(
                        "{}: {}",
                        t.method(m),
                        format::money(amount, locale)
                    ));
                }
                lines
            }
            Ok(None) => return None,
            Err(error) => vec![fill(t.split_impossible, &[&locale.split_reason(&error)])],
        };
        Some(view! {
            <ul class="ck-split" data-testid="split-breakdown" aria-live="polite">
                {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
            </ul>
        })
    };
    view! {
        <div class="ck-split-editor">
            {points_label.map(|label| view! {
                <label class="ck-toggle">
                    <input type="checkbox" data-testid="use-points"
                        prop:checked=move || use_points.get()
                        on:change=move |ev| use_points.set(event_target_checked(&ev)) />
                    {label}
                </label>
            })}
            {balance_label.map(|label| view! {
                <Show when=external_chosen>
                    <label class="ck-toggle">
                        <input type="checkbox" data-testid="use-balance"
                            prop:checked=move || use_balance.get()
                            on:change=move |ev| use_balance.set(event_target_checked(&ev)) />
                        {label.clone()}
                    </label>
                </Show>
            })}
            {breakdown}
        </div>
    }
}
