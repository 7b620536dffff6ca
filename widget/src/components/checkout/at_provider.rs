//! While a payment waits at the provider: polling the session's real status with back-off,
//! the shopper's cancel, and WeChat's in-app pay sheet.

use checkout_core::api::NextAction;
use checkout_core::wire::ToJson;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::{Closure, JsCast, JsValue};

use super::{show_problem, show_session, Model};
use crate::state::{poll_delay_ms, Problem, Screen};

/// Polls the session while a payment is under way, backing off, until it settles (the edge
/// asks the provider as it answers). Network blips are waited out, not shown.
pub(super) async fn watch(model: Model) {
    model.watching.set(true);
    let mut checks = 0;
    while model.screen.get_untracked() == Screen::Waiting {
        sleep_ms(poll_delay_ms(checks)).await;
        checks += 1;
        let Some(session) = model.session.get_untracked() else {
            break;
        };
        if model.screen.get_untracked() != Screen::Waiting {
            break;
        }
        let api = model.api.get_value();
        match api.session(&session.id, &model.token.get_untracked()).await {
            Ok(updated) => show_session(model, updated),
            Err(problem) if problem.outcome_unknown() => {}
            Err(problem) => {
                show_problem(model, problem);
                break;
            }
        }
    }
    model.watching.set(false);
}

/// Gives up on the payment under way; the edge closes it at the provider first.
pub(super) async fn cancel(model: Model) {
    let Some(session) = model.session.get_untracked() else {
        return;
    };
    let api = model.api.get_value();
    match api.cancel(&session.id, &model.token.get_untracked()).await {
        Ok(updated) => {
            model.error.set(None);
            show_session(model, updated);
        }
        Err(problem) => show_problem(model, problem),
    }
}

/// Hands WeChat's pay-sheet parameters to its in-app bridge, which exists only inside WeChat.
/// Whatever the sheet's answer, the session's status (polled) is what counts.
pub(super) fn open_pay_sheet(model: Model) {
    let Some(NextAction::WechatJsapi { params }) =
        model.session.get_untracked().and_then(|s| s.next_action)
    else {
        return;
    };
    let window = match web_sys::window() {
        Some(window) => window,
        None => return,
    };
    let bridge = js_sys::Reflect::get(&window, &"WeixinJSBridge".into()).unwrap_or_default();
    let invoke = js_sys::Reflect::get(&bridge, &"invoke".into()).unwrap_or_default();
    let (Some(invoke), Ok(params)) = (
        invoke.dyn_ref::<js_sys::Function>(),
        js_sys::JSON::parse(&params.to_json()),
    ) else {
        show_problem(model, Problem::NotInWechat);
        return;
    };
    let on_answer = Closure::once_into_js(move |_answer: JsValue| {
        if model.screen.get_untracked() == Screen::Waiting && !model.watching.get_untracked() {
            spawn_local(watch(model));
        }
    });
    let _ = invoke.call3(&bridge, &"getBrandWCPayRequest".into(), &params, &on_answer);
}

async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
