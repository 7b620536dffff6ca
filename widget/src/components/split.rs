//! The split editor: add loyalty points (and, with an external method, store balance) and see
//! exactly how the total divides. The numbers come from the shared allocation rules.

use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::prelude::*;

use crate::state::{format_money, method_label, split};

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
) -> impl IntoView {
    let currency = session.currency.code();
    let points_label = session
        .points
        .map(|p| format!("Use my points ({} available)", p.available));
    let balance_label = session.balance.as_ref().map(|b| {
        format!(
            "Use my store balance ({})",
            format_money(&b.available, currency)
        )
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
                    lines.push(format!(
                        "{} points: {}",
                        allocation.points,
                        format_money(&value.to_decimal_string(), currency)
                    ));
                }
                if !allocation.balance.is_zero() {
                    lines.push(format!(
                        "Store balance: {}",
                        format_money(&allocation.balance.to_decimal_string(), currency)
                    ));
                }
                if let Some((m, amount)) = allocation.external {
                    lines.push(format!(
                        "{}: {}",
                        method_label(m),
                        format_money(&amount.to_decimal_string(), currency)
                    ));
                }
                lines
            }
            Ok(None) => return None,
            Err(error) => vec![format!("This split is not possible: {error}.")],
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
