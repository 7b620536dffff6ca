//! Waiting at the provider: WeChat's QR code to scan, or word that WeChat's pay sheet (or the
//! provider's answer) is awaited, with a way to give up.

use checkout_core::api::{NextAction, WidgetSession};
use leptos::prelude::*;

use crate::qr::qr_svg;
use crate::state::format_money;

#[component]
pub fn Waiting(
    /// The session with its payment under way.
    session: WidgetSession,
    /// Gives up on the payment (closing it at the provider).
    on_cancel: Callback<()>,
    /// Re-opens WeChat's in-app pay sheet.
    on_reopen: Callback<()>,
) -> impl IntoView {
    let amount = format_money(&session.amount, session.currency.code());
    let body = match session.next_action.clone() {
        Some(NextAction::QrCode { code_url }) => qr_view(&code_url, &amount),
        Some(NextAction::WechatJsapi { .. }) => view! {
            <p class="ck-waiting-text">"Confirm the payment of " {amount} " in WeChat."</p>
            <button type="button" class="ck-secondary" data-testid="reopen-wechat"
                on:click=move |_| on_reopen.run(())>
                "Open WeChat Pay again"
            </button>
        }
        .into_any(),
        _ => view! {
            <p class="ck-waiting-text">"Waiting for the payment provider to confirm…"</p>
        }
        .into_any(),
    };
    let cancellable = session.next_action.is_some();
    view! {
        <div class="ck-waiting" data-testid="waiting">
            {body}
            <p class="ck-waiting-status" data-testid="waiting-status">
                "This page updates by itself once the payment is confirmed."
            </p>
            {cancellable.then(|| view! {
                <button type="button" class="ck-secondary" data-testid="cancel-payment"
                    on:click=move |_| on_cancel.run(())>
                    "Cancel and choose another way to pay"
                </button>
            })}
        </div>
    }
}

fn qr_view(code_url: &str, amount: &str) -> AnyView {
    let Some(svg) = qr_svg(code_url) else {
        return view! { <p class="ck-error">"This QR code cannot be shown."</p> }.into_any();
    };
    let label = format!("QR code to pay {amount} with WeChat Pay");
    view! {
        <p class="ck-waiting-text">"Scan with WeChat to pay " {amount.to_owned()}</p>
        <svg class="ck-qr" data-testid="wechat-qr" data-code-url=code_url.to_owned()
            viewBox=svg.view_box role="img" aria-label=label
            xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">
            <rect x="-4" y="-4" width="100%" height="100%" fill="#fff"></rect>
            <path d=svg.path fill="#000"></path>
        </svg>
        <p class="ck-hint">"Open WeChat, tap + then Scan, and point your phone at this code."</p>
    }
    .into_any()
}
