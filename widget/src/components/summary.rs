//! The order the shopper is paying for.

use leptos::prelude::*;

use crate::i18n::{fill, format, Locale};
use crate::state::Session;

#[component]
pub fn OrderSummary(
    /// The session being paid.
    session: Session,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.messages();
    let total = format::amount(session.amount_minor, session.currency, locale);
    let pay_by = pay_by(session.expires_at, locale);
    view! {
        <header class="ck-summary" data-testid="order-summary">
            <p class="ck-merchant">{session.merchant_name.clone()}</p>
            <p class="ck-description">{session.description.clone()}</p>
            <p class="ck-total">
                <span class="ck-total-label">{t.total}</span>
                <strong class="ck-amount" data-testid="order-amount">{total}</strong>
            </p>
            <p class="ck-order">{fill(t.order, &[&session.order_id])}</p>
            {pay_by.map(|text| view! { <p class="ck-order" data-testid="pay-by">{text}</p> })}
        </header>
    }
}

/// "Pay by 2:05 PM" in the browser's time zone, when the session ends within a day (a time of
/// day alone would be ambiguous beyond that).
fn pay_by(expires_at: i64, locale: Locale) -> Option<String> {
    let now_s = (js_sys::Date::now() / 1000.0) as i64;
    if expires_at <= now_s || expires_at - now_s > 24 * 3600 {
        return None;
    }
    // `getTimezoneOffset` is UTC minus local time, in minutes, at that instant.
    let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(expires_at as f64 * 1000.0));
    let offset_min = -(at.get_timezone_offset() as i64);
    let time = format::time_of_day(expires_at, offset_min, locale);
    Some(fill(locale.messages().pay_by, &[&time]))
}

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use checkout_core::Currency;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::dom_tests::{render, session};

    #[wasm_bindgen_test]
    fn the_order_is_summed_up_in_the_shoppers_language_and_digits() {
        for locale in [Locale::En, Locale::ZhHans, Locale::Bn] {
            let order = session("1234.50", "0.00");
            let rendered = render(move || view! { <OrderSummary session=order locale /> });
            let amount = rendered.text("[data-testid=order-amount]");
            assert_eq!(amount, format::amount(123_450, Currency::BDT, locale));
            assert_eq!(rendered.text(".ck-merchant"), "Demo Shop");
            assert_eq!(rendered.text(".ck-total-label"), locale.messages().total);
            assert!(rendered.text(".ck-order").contains("order-42"));
            // A session that has already ended has no time to pay by.
            assert!(rendered.find("[data-testid=pay-by]").is_none());
        }
        let bangla = format::amount(123_450, Currency::BDT, Locale::Bn);
        assert!(bangla.contains('১') && !bangla.contains('1'), "{bangla}");
    }
}
