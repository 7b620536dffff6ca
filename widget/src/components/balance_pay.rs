//! Paying with store balance: the available balance, and the pay-password frame.
//!
//! The password is typed into a frame on the checkout's own origin (`www/frames/`, served by the
//! edge's `handlers/frame.rs`), never into this page: the merchant's page runs scripts the
//! checkout does not control, and the widget's shadow root is open to them. The frame pays
//! itself when asked (`password_frame.rs`); pressing Enter in it pays like the Pay button (the
//! widget listens for that, `components/checkout/mod.rs`).

use leptos::prelude::*;

use crate::api::Api;
use crate::i18n::{format, Locale};
use crate::password_frame::SubmitHook;
use crate::state::{Problem, Session};

/// The id of the frame's element, for focus and for the payment that goes through it.
pub const FRAME_ID: &str = "ck-pay-password-frame";

#[component]
pub fn BalancePay(
    /// The session being paid, with the shopper's balance.
    session: Session,
    /// The pay-password frame's address (`Api::password_frame_url`).
    frame_url: String,
    /// Attempts left after a wrong password, when known.
    attempts_left: Signal<Option<u32>>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.part_messages();
    let Some(balance) = session.balance.as_ref() else {
        return ().into_any();
    };
    let available = format::amount(balance.available_minor, balance.currency, locale);
    view! {
        <style>{STYLE}</style>
        <div class="ck-balance">
            <p class="ck-available">
                {t.available_balance}
                <strong data-testid="balance-available">{available}</strong>
            </p>
            <iframe
                id=FRAME_ID
                data-testid="pay-password-frame"
                class="ck-password-frame"
                title=t.pay_password
                src=frame_url
            ></iframe>
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
        api: Api,
        submit: SubmitHook,
        attempts_left: Signal<Option<u32>>,
        locale: Locale,
    ) -> Result<AnyView, Problem> = wallet_form_part
}

fn wallet_form_part(
    session: Session,
    api: Api,
    submit: SubmitHook,
    attempts_left: Signal<Option<u32>>,
    locale: Locale,
) -> Result<AnyView, Problem> {
    submit.listen();
    let frame_url = frame_url(&api, &session, locale);
    Ok(view! {
        <BalancePay session=session frame_url=frame_url attempts_left=attempts_left
            locale=locale />
    }
    .into_any())
}

/// The pay-password frame for `session`, framed by this page and speaking `locale`.
fn frame_url(api: &Api, session: &Session, locale: Locale) -> String {
    let parent = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let locked = session
        .balance
        .as_ref()
        .is_some_and(|b| b.locked_until.is_some());
    api.password_frame_url(&session.id, &parent, locale.tag(), locked)
}

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::dom_tests::{render, session};

    #[wasm_bindgen_test]
    fn the_password_is_typed_into_the_frame_never_into_the_page() {
        let rendered = render(move || {
            view! {
                <BalancePay
                    session=session("100.00", "500.00")
                    frame_url="about:blank".to_owned()
                    attempts_left=Signal::derive(|| Some(3))
                    locale=Locale::Bn
                />
            }
        });
        assert!(
            rendered.find("input").is_none(),
            "a field in the page: {}",
            rendered.root.inner_html()
        );
        let frame = rendered.get("[data-testid=pay-password-frame]");
        assert_eq!(frame.tag_name(), "IFRAME");
        assert_eq!(frame.id(), FRAME_ID);
        assert_eq!(
            frame.get_attribute("title").as_deref(),
            Some(Locale::Bn.part_messages().pay_password)
        );
        assert_eq!(frame.get_attribute("src").as_deref(), Some("about:blank"));
        assert_eq!(
            rendered.text("[data-testid=attempts-left]"),
            Locale::Bn.attempts_left(3)
        );
    }
}
