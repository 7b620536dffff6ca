//! The payment methods, as a radio group; those that cannot pay this order say why.

use checkout_core::api::PaymentMethod;
use leptos::prelude::*;

use crate::i18n::{fill, format, Locale};
use crate::state::{method_availability, method_limits, Session};

#[component]
pub fn MethodList(
    /// The session whose methods are listed.
    session: Session,
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

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::HtmlInputElement;

    use checkout_core::Currency;

    use super::*;
    use crate::dom_tests::{render, session, settle};

    fn radio(rendered: &crate::dom_tests::Rendered, method: &str) -> HtmlInputElement {
        rendered
            .get(&format!("[data-testid=method-{method}]"))
            .unchecked_into()
    }

    #[wasm_bindgen_test]
    fn a_method_that_cannot_take_the_amount_is_disabled_with_the_reason_in_every_language() {
        for locale in [Locale::En, Locale::ZhHans, Locale::Bn] {
            let t = locale.messages();
            let chosen = RwSignal::new(None);
            let below_bkash_minimum = session("5.00", "0.00");
            let rendered =
                render(move || view! { <MethodList session=below_bkash_minimum chosen locale /> });

            assert!(radio(&rendered, "bkash").disabled());
            let bkash = rendered.text("#ck-method-bkash + span + label");
            assert!(bkash.contains(t.out_of_range), "{locale:?}: {bkash}");
            let limits = fill(
                t.limits,
                &[
                    &format::amount(1_000, Currency::BDT, locale),
                    &format::amount(50_000, Currency::BDT, locale),
                ],
            );
            assert!(bkash.contains(&limits), "{locale:?}: {bkash}");
            assert!(rendered
                .text("#ck-method-card + span + label")
                .contains(t.not_available_yet));
            assert!(!radio(&rendered, "wechat_pay").disabled());
            assert_eq!(rendered.text("legend"), t.pay_with);
        }
    }

    #[wasm_bindgen_test]
    fn points_are_not_listed_and_the_balance_short_of_the_total_still_can_be_chosen() {
        let chosen = RwSignal::new(None);
        // Points are a switch in the split editor; the balance pays part and bKash the rest.
        let short = session("100.00", "99.99");
        let rendered =
            render(move || view! { <MethodList session=short chosen locale=Locale::En /> });
        assert!(rendered.find("[data-testid=method-points]").is_none());
        assert!(!radio(&rendered, "balance").disabled());
    }

    #[wasm_bindgen_test]
    async fn choosing_a_method_sets_the_choice_and_the_choice_checks_the_radio() {
        let chosen = RwSignal::new(None);
        let open = session("100.00", "0.00");
        let rendered =
            render(move || view! { <MethodList session=open chosen locale=Locale::En /> });

        radio(&rendered, "wechat_pay").click();
        assert_eq!(chosen.get_untracked(), Some(PaymentMethod::WechatPay));

        chosen.set(Some(PaymentMethod::Bkash));
        settle().await;
        assert!(radio(&rendered, "bkash").checked());
        assert!(!radio(&rendered, "wechat_pay").checked());
    }
}
