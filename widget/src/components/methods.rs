//! The payment methods, as a radio group; those that cannot pay this order say why.

use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::prelude::*;

use crate::i18n::Locale;
use crate::state::method_availability;

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
            let id = format!("ck-method-{}", serde_json::to_value(method).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default());
            let testid = id.trim_start_matches("ck-").to_owned();
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
                    <label for=id>
                        <span class="ck-method-name">{t.method(method)}</span>
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
