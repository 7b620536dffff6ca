//! The end of the flow: paid, or why not.

use leptos::html;
use leptos::prelude::*;

use super::focus::take_if_lost;
use crate::i18n::{fill, Locale};
use crate::state::Problem;

#[component]
pub fn ResultView(
    /// What was paid (or authorized), formatted.
    amount: String,
    /// Where the merchant wants the shopper to go next.
    return_url: String,
    /// Whether the card was authorized for the shop to capture later, rather than paid: still a
    /// success for the shopper, told that the shop will confirm.
    authorized: bool,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.part_messages();
    let heading = NodeRef::<html::H2>::new();
    // Move focus to the outcome so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            take_if_lost(&el);
        }
    });
    let (heading_text, text, status) = if authorized {
        (t.authorized_heading, t.you_authorized, "authorized")
    } else {
        (t.paid_heading, t.you_paid, "paid")
    };
    let paid = fill(text, &["\u{0}"]);
    let (before, after) = paid.split_once('\u{0}').unwrap_or((&paid, ""));
    view! {
        <style>{STYLE}</style>
        <div class="ck-result ck-success" data-testid="result-success" data-status=status>
            <div class="ck-check" aria-hidden="true">"✓"</div>
            <h2 tabindex="-1" node_ref=heading data-testid="result-heading">{heading_text}</h2>
            <p>{before.to_owned()} <strong>{amount}</strong> {after.to_owned()}</p>
            <a class="ck-link" href=return_url data-testid="back-to-shop">{t.back_to_shop}</a>
        </div>
    }
}

/// This part's stylesheet (`result.css`, minified by `build.rs`): it comes with the part, not
/// in the first view.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/result.min.css"));

lazy_part! {
    paid_screen, preload_paid_screen,
    /// The paid screen, a lazily loaded part (`components/parts.rs`).
    pub fn paid_screen(
        amount: String,
        return_url: String,
        authorized: bool,
        locale: Locale,
    ) -> Result<AnyView, Problem> = paid_screen_part
}

fn paid_screen_part(
    amount: String,
    return_url: String,
    authorized: bool,
    locale: Locale,
) -> Result<AnyView, Problem> {
    Ok(view! {
        <ResultView amount=amount return_url=return_url authorized=authorized locale=locale />
    }
    .into_any())
}

/// The problem in words. The checkout's status region announces it; this is what the shopper
/// (and the pay-password field's description) reads, and where focus goes when nothing else fits.
#[component]
pub fn ErrorNotice(
    /// The problem to explain.
    error: Problem,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let code = error.code().to_owned();
    view! {
        <div class="ck-error" id="ck-error" tabindex="-1" data-testid="error-message"
            data-code=code>
            <p>{move || locale.problem_text(&error)}</p>
        </div>
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use checkout_core::error::ErrorDetail;
    use checkout_core::ErrorCode;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::dom_tests::{render, settle};

    #[wasm_bindgen_test]
    async fn an_api_error_is_shown_in_the_shoppers_language_with_its_code() {
        let mut detail = ErrorDetail::new(ErrorCode::IncorrectPayPassword);
        detail.message = "The pay password is incorrect.".into();
        let error = Problem::Api(detail);
        let rendered = render(move || view! { <ErrorNotice error=error locale=Locale::ZhHans /> });
        // The error words are fetched on first use; the notice shows them when they arrive.
        settle().await;
        assert_eq!(
            rendered.text("[data-testid=error-message]"),
            "支付密码错误。"
        );
        let notice = rendered.get("[data-testid=error-message]");
        assert_eq!(
            notice.get_attribute("data-code").as_deref(),
            Some("incorrect_pay_password")
        );
    }

    #[wasm_bindgen_test]
    fn an_authorized_card_is_a_success_that_says_the_shop_will_confirm_in_every_language() {
        for locale in [Locale::En, Locale::ZhHans, Locale::Bn] {
            let t = locale.part_messages();
            let rendered = render(move || {
                view! {
                    <ResultView
                        amount="BDT 1,250.00".to_owned()
                        return_url="https://shop.example/done".to_owned()
                        authorized=true
                        locale=locale
                    />
                }
            });
            let result = rendered.get("[data-testid=result-success]");
            assert_eq!(
                result.get_attribute("data-status").as_deref(),
                Some("authorized")
            );
            assert_eq!(
                rendered.text("[data-testid=result-heading]"),
                t.authorized_heading
            );
            let text = rendered.text("[data-testid=result-success] p");
            let template = fill(t.you_authorized, &["\u{0}"]);
            let (before, after) = template.split_once('\u{0}').unwrap();
            for part in [before.trim(), "BDT 1,250.00", after.trim()] {
                assert!(text.contains(part), "{locale:?}: {part:?} in {text}");
            }
            assert_ne!(t.authorized_heading, t.paid_heading);
        }
        let paid = render(move || {
            view! {
                <ResultView
                    amount="BDT 1.00".to_owned()
                    return_url="https://shop.example/done".to_owned()
                    authorized=false
                    locale=Locale::En
                />
            }
        });
        assert_eq!(
            paid.text("[data-testid=result-heading]"),
            "Payment complete"
        );
    }

    #[wasm_bindgen_test]
    async fn each_card_decline_is_told_apart_in_english_chinese_and_bangla() {
        let declines = [
            ErrorCode::CardDeclined,
            ErrorCode::CardInsufficientFunds,
            ErrorCode::CardExpired,
            ErrorCode::CardIncorrectCvc,
            ErrorCode::CardProcessingError,
            ErrorCode::CardAuthenticationFailed,
        ];
        let shown = |code: ErrorCode, locale: Locale| async move {
            let error = Problem::Api(ErrorDetail::new(code));
            let rendered = render(move || view! { <ErrorNotice error=error locale=locale /> });
            settle().await;
            let notice = rendered.get("[data-testid=error-message]");
            assert_eq!(
                notice.get_attribute("data-code").as_deref(),
                Some(code.as_str())
            );
            rendered.text("[data-testid=error-message]")
        };
        for locale in [Locale::En, Locale::ZhHans, Locale::Bn] {
            let mut texts = Vec::new();
            for code in declines {
                let text = shown(code, locale).await;
                assert!(
                    !texts.contains(&text),
                    "{locale:?}: {code:?} repeats: {text}"
                );
                if locale != Locale::En {
                    assert_ne!(
                        text,
                        code.default_message(),
                        "{locale:?}: {code:?} untranslated"
                    );
                }
                texts.push(text);
            }
        }
        assert_eq!(
            shown(ErrorCode::CardInsufficientFunds, Locale::En).await,
            "Your card does not have enough funds for this payment. No money was taken."
        );
        assert_eq!(
            shown(ErrorCode::CardInsufficientFunds, Locale::ZhHans).await,
            "您的银行卡余额不足以支付此笔款项，未扣除任何款项。"
        );
        assert_eq!(
            shown(ErrorCode::CardIncorrectCvc, Locale::Bn).await,
            "কার্ডের নিরাপত্তা কোড (CVC) ভুল। কোনো টাকা কাটা হয়নি; যাচাই করে আবার চেষ্টা করুন।"
        );
    }

    #[wasm_bindgen_test]
    fn a_network_failure_says_to_check_the_connection() {
        let rendered =
            render(move || view! { <ErrorNotice error=Problem::Unreachable locale=Locale::Bn /> });
        assert_eq!(
            rendered.text("[data-testid=error-message]"),
            Locale::Bn.messages().unreachable
        );
    }
}
