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
            // The card brands' marks are decorative; their names are there for screen readers.
            let brands = (method == PaymentMethod::Card).then(|| {
                view! {
                    <span class="ck-brands" aria-hidden="true" inner_html=CARD_BRANDS></span>
                    <span class="ck-sr">{t.card_brands}</span>
                }
            });
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
                        {brands}
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

/// The marks of the card brands the gateway takes (Visa, Mastercard, American Express, UnionPay):
/// small inline SVGs in the brands' colours, one static string (so they cost the first view a
/// few hundred bytes and no code). Decorative: the list is `aria-hidden` beside a text label.
const CARD_BRANDS: &str = concat!(
    r##"<svg viewBox="0 0 32 20" width="32" height="20" data-brand="visa"><rect width="32" height="20" rx="3" fill="#1a1f71"/><text x="16" y="14" fill="#fff" font-family="Arial,sans-serif" font-size="9" font-style="italic" font-weight="700" text-anchor="middle">VISA</text></svg>"##,
    r##"<svg viewBox="0 0 32 20" width="32" height="20" data-brand="mastercard"><rect width="32" height="20" rx="3" fill="#252525"/><circle cx="12.5" cy="10" r="6" fill="#eb001b"/><circle cx="19.5" cy="10" r="6" fill="#f79e1b"/><path d="M16 5.1a6 6 0 0 1 0 9.8 6 6 0 0 1 0-9.8z" fill="#ff5f00"/></svg>"##,
    r##"<svg viewBox="0 0 32 20" width="32" height="20" data-brand="amex"><rect width="32" height="20" rx="3" fill="#006fcf"/><text x="16" y="13.5" fill="#fff" font-family="Arial,sans-serif" font-size="7.5" font-weight="700" text-anchor="middle">AMEX</text></svg>"##,
    r##"<svg viewBox="0 0 32 20" width="32" height="20" data-brand="unionpay"><rect width="32" height="20" rx="3" fill="#fff" stroke="#d0d5dd"/><path d="M6 3h7l-3 14H3z" fill="#e21836"/><path d="M13 3h7l-3 14h-7z" fill="#00447c"/><path d="M20 3h8l-3 14h-8z" fill="#007b84"/></svg>"##,
);

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
            // The card is offered: the gateway takes any amount this session's limits allow.
            assert!(!radio(&rendered, "card").disabled());
            assert!(!radio(&rendered, "wechat_pay").disabled());
            assert_eq!(rendered.text("legend"), t.pay_with);
        }
    }

    #[wasm_bindgen_test]
    fn the_card_shows_the_four_brands_marks_hidden_from_screen_readers_and_their_names_as_text() {
        for locale in [Locale::En, Locale::ZhHans, Locale::Bn] {
            let t = locale.messages();
            let chosen = RwSignal::new(None);
            let open = session("100.00", "0.00");
            let rendered = render(move || view! { <MethodList session=open chosen locale /> });

            let label = rendered.text("#ck-method-card + span + label");
            assert!(label.contains(t.method_card), "{locale:?}: {label}");
            assert!(label.contains(t.card_brands), "{locale:?}: {label}");
            let marks = rendered.get("label[for=ck-method-card] .ck-brands");
            assert_eq!(marks.get_attribute("aria-hidden").as_deref(), Some("true"));
            let brands: Vec<String> = (0..marks.children().length())
                .filter_map(|i| marks.children().item(i))
                .map(|svg| {
                    assert_eq!(svg.tag_name().to_lowercase(), "svg");
                    svg.get_attribute("data-brand").unwrap_or_default()
                })
                .collect();
            assert_eq!(brands, ["visa", "mastercard", "amex", "unionpay"]);
            // No other method carries them.
            assert_eq!(
                rendered
                    .root
                    .get_elements_by_class_name("ck-brands")
                    .length(),
                1,
                "{locale:?}: the marks belong to the card alone"
            );
        }
    }

    #[wasm_bindgen_test]
    fn the_card_outside_its_limits_is_disabled_and_its_limits_are_shown() {
        let limited = |amount_minor: i64| -> crate::state::Session {
            serde_json::from_value(serde_json::json!({
                "id": "cs_test", "merchant_name": "Demo Shop", "order_id": "order-42",
                "description": "Tea", "amount_minor": amount_minor, "currency": "BDT",
                "status": "open", "methods": ["card"],
                "return_url": "https://shop.example/done", "expires_at": 0, "payments": [],
                "method_limits": [{"method": "card", "min_minor": 5_000, "max_minor": 2_000_000}]
            }))
            .map(crate::state::Session::new)
            .unwrap()
        };
        let t = Locale::En.messages();
        let chosen = RwSignal::new(None);
        let below = limited(4_999);
        let rendered =
            render(move || view! { <MethodList session=below chosen locale=Locale::En /> });
        assert!(radio(&rendered, "card").disabled());
        let label = rendered.text("#ck-method-card + span + label");
        assert!(label.contains(t.out_of_range), "{label}");
        let limits = fill(
            t.limits,
            &[
                &format::amount(5_000, Currency::BDT, Locale::En),
                &format::amount(2_000_000, Currency::BDT, Locale::En),
            ],
        );
        assert!(label.contains(&limits), "{label}");

        let within = limited(5_000);
        let rendered =
            render(move || view! { <MethodList session=within chosen locale=Locale::En /> });
        assert!(!radio(&rendered, "card").disabled());
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
