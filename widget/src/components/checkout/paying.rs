//! Paying: the shopper's choice turned into a pay request, sent once (a retry after an unknown
//! outcome reuses its idempotency key), and what follows: the provider's page, WeChat's pay
//! sheet, or the problem beside the form. The payment itself is a lazily loaded part.

use checkout_core::api::{AllocationRequest, NextAction, PayRequest, PaymentMethod};
use leptos::prelude::*;

use super::at_provider::open_pay_sheet;
use super::{frame_element, show_problem, show_session, Model};
use crate::api::new_idempotency_key;
use crate::components::focus;
use crate::components::parts::PartTask;
use crate::state::{plan, uses_wallet, wechat_flow, Problem};

/// Pays with what the shopper chose, once the paying part has loaded.
pub(super) async fn start_payment(model: Model) {
    match pay(model).await {
        Ok(payment) => payment.await,
        Err(problem) => show_problem(model, problem),
    }
}

lazy_part! {
    pay, preload_pay,
    /// The payment itself, a lazily loaded part (`components/parts.rs`): the future it returns is
    /// the part's code.
    pub(crate) fn pay(model: Model) -> Result<PartTask, Problem> = pay_part
}

fn pay_part(model: Model) -> Result<PartTask, Problem> {
    Ok(Box::pin(pay_now(model)))
}

async fn pay_now(model: Model) {
    let (Some(session), Some(method)) =
        (model.session.get_untracked(), model.method.get_untracked())
    else {
        return;
    };
    let (use_points, use_balance) = (
        model.use_points.get_untracked(),
        model.use_balance.get_untracked(),
    );
    let entry = model.points_entry.get_untracked();
    let allocation = match plan(&session, method, use_points, use_balance, entry.as_deref()) {
        Ok(allocation) => allocation,
        Err(problem) => {
            show_problem(model, problem);
            focus_after_failure(model, false);
            return;
        }
    };
    // When points and balance cover everything, the wallet pays alone.
    let method = match &allocation {
        Some(a) if a.external.is_none() && a.balance.is_zero() => PaymentMethod::Points,
        Some(a) if a.external.is_none() => PaymentMethod::Balance,
        _ => method,
    };
    // The pay password is typed into the frame, which pays; it never exists in this page.
    let through_frame = uses_wallet(Some(method), use_points, use_balance);
    let key = model
        .retry_key
        .get_untracked()
        .unwrap_or_else(new_idempotency_key);
    model.retry_key.set(Some(key.clone()));
    model.paying.set(true);
    model.error.set(None);
    let wechat = (method == PaymentMethod::WechatPay).then(|| {
        let agent = web_sys::window()
            .and_then(|w| w.navigator().user_agent().ok())
            .unwrap_or_default();
        wechat_flow(&agent)
    });
    let request = PayRequest {
        method,
        wechat_flow: wechat,
        pay_password: None,
        allocation: allocation.map(|a| AllocationRequest {
            points: a.points,
            balance: a.balance.to_decimal_string(),
        }),
    };
    let api = model.api.get_value();
    let token = model.token.get_untracked();
    let result = if through_frame {
        match frame_element(model) {
            Some(frame) => api.pay_in_frame(&frame, &token, &key, &request).await,
            // The form's part has not arrived: nothing was sent.
            None => Err(Problem::Unreachable),
        }
    } else {
        api.pay(&session.id, &token, &key, &request).await
    };
    model.paying.set(false);
    match result {
        Ok(updated) => {
            model.retry_key.set(None);
            let action = updated.next_action.clone();
            show_session(model, updated);
            match action {
                Some(NextAction::Redirect { url }) => redirect(&url),
                Some(NextAction::WechatJsapi { .. }) => open_pay_sheet(model),
                _ => {}
            }
        }
        Err(problem) => {
            // A definite answer ends the attempt; an unknown outcome (network, internal error)
            // keeps its key, so the retry returns the first result instead of paying twice.
            if !problem.outcome_unknown() {
                model.retry_key.set(None);
            }
            let password = problem.about_password();
            show_problem(model, problem);
            focus_after_failure(model, password);
        }
    }
}

/// After a failed payment, focus goes where the shopper carries on: the (cleared) pay-password
/// field in its frame when the password was the problem, else the error message.
fn focus_after_failure(model: Model, password: bool) {
    match frame_element(model).filter(|_| password) {
        Some(frame) => {
            let origin = model.api.get_value().origin().to_owned();
            request_animation_frame(move || crate::password_frame::focus(&frame, &origin));
        }
        None => focus::move_to(model.root.get_untracked(), "[data-testid=error-message]"),
    }
}

/// Sends the top-level page to the provider (bKash's hosted page).
fn redirect(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}
