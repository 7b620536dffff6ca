//! Paying with store balance: the available balance, the masked pay password, and the button.

use checkout_core::api::WidgetSession;
use leptos::prelude::*;

use crate::state::format_money;

#[component]
pub fn BalancePay(
    /// The session being paid, with the shopper's balance.
    session: WidgetSession,
    /// The pay password as typed.
    password: RwSignal<String>,
    /// Attempts left after a wrong password, when known.
    attempts_left: Signal<Option<u32>>,
) -> impl IntoView {
    let Some(balance) = session.balance else {
        return ().into_any();
    };
    let available = format_money(&balance.available, balance.currency.code());
    let locked = balance.locked_until.is_some();
    view! {
        <div class="ck-balance">
            <p class="ck-available">
                "Available balance: "
                <strong data-testid="balance-available">{available}</strong>
            </p>
            <label for="ck-pay-password">"Pay password"</label>
            <input
                id="ck-pay-password"
                data-testid="pay-password"
                type="password"
                inputmode="numeric"
                autocomplete="off"
                maxlength="6"
                aria-describedby="ck-password-help"
                disabled=locked
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))
            />
            <p id="ck-password-help" class="ck-help">
                {if locked {
                    "Balance payments are locked after 5 incorrect passwords. Try again in 15 minutes."
                } else {
                    "The 6-digit password for your store balance."
                }}
            </p>
            {move || attempts_left.get().map(|left| view! {
                <p class="ck-attempts" data-testid="attempts-left" role="status">
                    {format!("{left} attempts left before balance payments are locked for 15 minutes.")}
                </p>
            })}
        </div>
    }
    .into_any()
}
