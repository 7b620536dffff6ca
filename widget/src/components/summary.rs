//! The order the shopper is paying for.

use checkout_core::api::WidgetSession;
use leptos::prelude::*;

use crate::state::format_money;

#[component]
pub fn OrderSummary(
    /// The session being paid.
    session: WidgetSession,
) -> impl IntoView {
    let total = format_money(&session.amount, session.currency.code());
    view! {
        <header class="ck-summary" data-testid="order-summary">
            <p class="ck-merchant">{session.merchant_name}</p>
            <p class="ck-description">{session.description}</p>
            <p class="ck-total">
                <span class="ck-total-label">"Total"</span>
                <strong class="ck-amount" data-testid="order-amount">{total}</strong>
            </p>
            <p class="ck-order">"Order " {session.order_id}</p>
        </header>
    }
}
