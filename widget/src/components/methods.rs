//! The payment methods, as a radio group; those that cannot pay this order say why.

use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::prelude::*;

use crate::i18n::{fill, format, Locale};
use crate::state::{method_availability, method_limits};

#[component]
pub fn MethodList(
    /// The session whose methods are listed.
    session: WidgetSession,
    /// The chosen method.
    chosen: RwSignal<Option<PaymentMethod>>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.messages();
    // Points are added with the split editor's switch, not chosen alone here.
    let items = session
        .methods
        .iter()
        .filter(|m| **m != PaymentMethod::Points)
        .map(|method| {
            let method = *method;
            let availability = method_availability(method, &session);
            let disabled = availability.is_err();
            let reason = availability.err().map(|r| t.unavailable(r)).unwrap_or_default();
            let id = format!("ck-method-{}", method.as_str());
            let testid = id.trim_start_matches("ck-").to_owned();
            let limits = method_limits(method, &session).map(|(min, max)| {
                let (min, max) = (format::money(min, locale), format::money(max, locale));
                fill(t.limits, &[&min, &max])
            });
            let mark = mark_of(method);
            view! {
                <li class="ck-method" class:ck-disabled=disabled>
                    <input
                        type="radio"
                        name="ck-method"
                        id=id.clone()
                        data-testid=testid
                        disabled=disabled
                        prop:checked=move || chosen.get() == Some(method)
                        on:change=move |_| chosen.set(Some(method))
                    />
                    <span class=format!("ck-mark ck-mark-{}", method.as_str()) aria-hidden="true">{mark}</span>
                    <label for=id>
                        <span class="ck-method-name">{t.method(method)}</span>
                        {limits.map(|text| view! { <span class="ck-method-limits">{text}</span> })}
                        {(!reason.is_empty()).then(|| view! { <span class="ck-method-reason">{reason}</span> })}
                    </label>
                </li>
            }
        })
        .collect_view();
    view! {
        <fieldset class="ck-methods">
            <legend>{t.pay_with}</legend>
            <ul>{items}</ul>
        </fieldset>
    }
}

/// A small brand mark: the method's initial on its colour (the colours are in style.css).
fn mark_of(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Balance => "¤",
        PaymentMethod::Points => "★",
        PaymentMethod::Bkash => "b",
        PaymentMethod::WechatPay => "微",
        PaymentMethod::Card => "▭",
    }
}
