//! The end of the flow: paid, or why not.

use leptos::html;
use leptos::prelude::*;

use super::focus::take_if_lost;
use crate::i18n::{fill, Locale};
use crate::state::Problem;

#[component]
pub fn ResultView(
    /// What was paid, formatted.
    amount: String,
    /// Where the merchant wants the shopper to go next.
    return_url: String,
    /// The shopper's language.
    locale: Locale,
) -> impl IntoView {
    let t = locale.messages();
    let heading = NodeRef::<html::H2>::new();
    // Move focus to the outcome so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            take_if_lost(&el);
        }
    });
    let paid = fill(t.you_paid, &["\u{0}"]);
    let (before, after) = paid.split_once('\u{0}').unwrap_or((&paid, ""));
    view! {
        <div class="ck-result ck-success" data-testid="result-success">
            <div class="ck-check" aria-hidden="true">"✓"</div>
            <h2 tabindex="-1" node_ref=heading data-testid="result-heading">{t.paid_heading}</h2>
            <p>{before.to_owned()} <strong>{amount}</strong> {after.to_owned()}</p>
            <a class="ck-link" href=return_url data-testid="back-to-shop">{t.back_to_shop}</a>
        </div>
    }
}

/// The paid screen, a lazily loaded part (`components/parts.rs`).
#[leptos::wasm_split::wasm_split(
    paid_screen,
    wasm_split_path = ::leptos::wasm_split,
    preload(preload_paid_screen),
    fallible
)]
pub fn paid_screen(amount: String, return_url: String, locale: Locale) -> Result<AnyView, Problem> {
    Ok(view! { <ResultView amount=amount return_url=return_url locale=locale /> }.into_any())
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
