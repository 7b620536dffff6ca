//! Waiting at the provider: WeChat's QR code to scan, or word that WeChat's pay sheet (or the
//! provider's answer) is awaited, with a way to give up.

use checkout_core::api::NextAction;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::focus::take_if_lost;
use crate::i18n::{fill, format, Locale, PartMessages};
use crate::qr::qr_svg;
use crate::state::Session;

#[component]
pub fn Waiting(
    /// The session with its payment under way.
    session: Session,
    /// Gives up on the payment (closing it at the provider).
    on_cancel: Callback<()>,
    /// Re-opens WeChat's in-app pay sheet.
    on_reopen: Callback<()>,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.part_messages();
    let amount = format::amount(session.amount_minor, session.currency, locale);
    let body = match session.next_action.clone() {
        Some(NextAction::QrCode { code_url }) => qr_view(&code_url, &amount, t),
        Some(NextAction::WechatJsapi { .. }) => view! {
            <p class="ck-waiting-text" tabindex="-1">{fill(t.confirm_in_wechat, &[&amount])}</p>
            <button type="button" class="ck-secondary" data-testid="reopen-wechat"
                on:click=move |_| on_reopen.run(())>
                {t.reopen_wechat}
            </button>
        }
        .into_any(),
        _ => view! {
            <p class="ck-waiting-text" tabindex="-1">{t.waiting_provider}</p>
        }
        .into_any(),
    };
    let cancellable = session.next_action.is_some();
    // The pay button that brought the shopper here is gone: focus what to do next.
    let container = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        let text = container
            .get()
            .and_then(|c| c.query_selector(".ck-waiting-text").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(text) = text {
            take_if_lost(&text);
        }
    });
    view! {
        <style>{STYLE}</style>
        <div class="ck-waiting" data-testid="waiting" node_ref=container>
            {body}
            <p class="ck-waiting-status" data-testid="waiting-status">
                {t.updates_itself}
            </p>
            {cancellable.then(|| view! {
                <button type="button" class="ck-secondary" data-testid="cancel-payment"
                    on:click=move |_| on_cancel.run(())>
                    {t.cancel_payment}
                </button>
            })}
        </div>
    }
}

/// This part's stylesheet (`waiting.css`, minified by `build.rs`): it comes with the part, not
/// in the first view.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/waiting.min.css"));

fn qr_view(code_url: &str, amount: &str, t: &'static PartMessages) -> AnyView {
    let Some(svg) = qr_svg(code_url) else {
        return view! { <p class="ck-error">{t.qr_unavailable}</p> }.into_any();
    };
    let label = fill(t.qr_label, &[amount]);
    view! {
        <p class="ck-waiting-text" tabindex="-1">{fill(t.scan_to_pay, &[amount])}</p>
        <svg class="ck-qr" data-testid="wechat-qr" data-code-url=code_url.to_owned()
            viewBox=svg.view_box role="img" aria-label=label
            xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">
            <rect x="-4" y="-4" width="100%" height="100%" fill="#fff"></rect>
            <path d=svg.path fill="#000"></path>
        </svg>
        <p class="ck-hint">{t.scan_hint}</p>
    }
    .into_any()
}
