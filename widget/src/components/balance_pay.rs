//! Paying with store balance: the available balance, the masked pay password, and the button.

use leptos::prelude::*;

use crate::i18n::{format, Locale};
use crate::state::{Problem, Session};

#[component]
pub fn BalancePay(
    /// The session being paid, with the shopper's balance.
    session: Session,
    /// The pay password as typed.
    password: RwSignal<String>,
    /// Attempts left after a wrong password, when known.
    attempts_left: Signal<Option<u32>>,
    /// Whether the error shown is about the password (the field is then marked invalid and
    /// described by the error too).
    invalid: Signal<bool>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.part_messages();
    let Some(balance) = session.balance.as_ref() else {
        return ().into_any();
    };
    let available = format::amount(balance.available_minor, balance.currency, locale);
    let locked = balance.locked_until.is_some();
    view! {
        <style>{STYLE}</style>
        <div class="ck-balance">
            <p class="ck-available">
                {t.available_balance}
                <strong data-testid="balance-available">{available}</strong>
            </p>
            <label for="ck-pay-password">{t.pay_password}</label>
            <input
                id="ck-pay-password"
                data-testid="pay-password"
                type="password"
                inputmode="numeric"
                autocomplete="off"
                maxlength="6"
                aria-invalid=move || invalid.get().to_string()
                aria-describedby=move || {
                    if invalid.get() {
                        "ck-password-help ck-attempts ck-error"
                    } else {
                        "ck-password-help"
                    }
                }
                disabled=locked
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))
            />
            <p id="ck-password-help" class="ck-help">
                {if locked { t.locked_help } else { t.password_help }}
            </p>
            {move || attempts_left.get().map(|left| view! {
                <p class="ck-attempts" id="ck-attempts" data-testid="attempts-left">
                    {locale.attempts_left(left)}
                </p>
            })}
        </div>
    }
    .into_any()
}

/// This part's stylesheet (`balance_pay.css`, minified by `build.rs`): it comes with the part, not
/// in the first view.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/balance_pay.min.css"));

lazy_part! {
    wallet_form, preload_wallet_form,
    /// The pay-password form, a lazily loaded part (`components/parts.rs`).
    pub fn wallet_form(
        session: Session,
        password: RwSignal<String>,
        attempts_left: Signal<Option<u32>>,
        invalid: Signal<bool>,
        locale: Locale,
    ) -> Result<AnyView, Problem> = wallet_form_part
}

fn wallet_form_part(
    session: Session,
    password: RwSignal<String>,
    attempts_left: Signal<Option<u32>>,
    invalid: Signal<bool>,
    locale: Locale,
) -> Result<AnyView, Problem> {
    Ok(view! {
        <BalancePay session=session password=password attempts_left=attempts_left
            invalid=invalid locale=locale />
    }
    .into_any())
}
