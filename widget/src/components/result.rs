//! The end of the flow: paid, or why not.

use checkout_core::error::ErrorDetail;
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn ResultView(
    /// What was paid, formatted.
    amount: String,
    /// Where the merchant wants the shopper to go next.
    return_url: String,
) -> impl IntoView {
    let heading = NodeRef::<html::H2>::new();
    // Move focus to the outcome so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            let _ = el.focus();
        }
    });
    view! {
        <div class="ck-result ck-success" data-testid="result-success">
            <div class="ck-check" aria-hidden="true">"✓"</div>
            <h2 tabindex="-1" node_ref=heading>"Payment complete"</h2>
            <p>"You paid " <strong>{amount}</strong> "."</p>
            <a class="ck-link" href=return_url>"Back to the shop"</a>
        </div>
    }
}

#[component]
pub fn ErrorNotice(
    /// The error to explain.
    error: ErrorDetail,
) -> impl IntoView {
    view! {
        <div class="ck-error" role="alert" data-testid="error-message">
            <p>{error.message}</p>
        </div>
    }
}
