//! While a payment waits at the provider: the session's real status pushed over a WebSocket
//! (polled with back-off where the socket does not get through), the shopper's cancel, and
//! WeChat's in-app pay sheet.

use checkout_core::api::{NextAction, WidgetSession};
use checkout_core::wire::{FromJson, ToJson};
use leptos::prelude::*;
use wasm_bindgen::prelude::{Closure, JsCast, JsValue};

use super::{show_problem, show_session, Model};
use crate::api::SocketEvent;
use crate::components::parts::PartTask;
use crate::components::waiting::Waiting;
use crate::i18n::Locale;
use crate::state::{
    keep_wallet, poll_delay_ms, socket_reconnect_delay_ms, Problem, Screen, Session,
};

lazy_part! {
    waiting_screen, preload_waiting_screen,
    /// The waiting screen and its actions, a lazily loaded part (`components/parts.rs`).
    pub(crate) fn waiting_screen(
        model: Model,
        session: Session,
        locale: Locale,
    ) -> Result<AnyView, Problem> = waiting_screen_part
}

fn waiting_screen_part(model: Model, session: Session, locale: Locale) -> Result<AnyView, Problem> {
    Ok(view! {
        <Waiting
            session=session
            locale=locale
            on_cancel=Callback::new(move |()| model.spawn(cancel(model)))
            on_reopen=Callback::new(move |()| open_pay_sheet(model))
        />
    }
    .into_any())
}

/// Starts watching the session's status (pushed, else polled) unless that runs already.
pub(super) fn start_watching(model: Model) {
    if model.watching.get_untracked() {
        return;
    }
    model.watching.set(true);
    model.spawn(async move {
        match status_polling(model).await {
            Ok(polling) => polling.await,
            Err(problem) => {
                model.watching.set(false);
                show_problem(model, problem);
            }
        }
    });
}

lazy_part! {
    status_polling, preload_status_polling,
    /// Status polling, a lazily loaded part: the future it returns is the part's code.
    pub(crate) fn status_polling(model: Model) -> Result<PartTask, Problem> = status_polling_part
}

fn status_polling_part(model: Model) -> Result<PartTask, Problem> {
    Ok(Box::pin(watch(model)))
}

/// Follows the session while a payment is under way until it settles: its pushed status
/// first, then polls if the socket does not get through or gives up. Runs only from
/// [`start_watching`], which raises `watching`; this lowers it when it stops.
async fn watch(model: Model) {
    follow_pushed(model).await;
    poll_until_settled(model).await;
    model.watching.set(false);
}

/// How long the widget waits on a quiet socket before it looks whether it still waits (the
/// shopper may have left the waiting screen, or the page unmounted the widget).
const SOCKET_LOOK_EVERY_MS: u32 = 5_000;

/// Applies the session's status as the edge pushes it (`api::StatusSocket`; the edge asks the
/// provider meanwhile), each view as a poll's answer. A socket that closes while the payment
/// still waits is reopened with back-off once one has worked in this wait (a dropped connection,
/// a restarted edge); if none ever did (refused, blocked on the way), or three reopenings in a
/// row hear nothing, this returns and the polls take over.
async fn follow_pushed(model: Model) {
    let (mut worked, mut reconnects) = (false, 0);
    loop {
        let (Some(shown), true) = (model.session.get_untracked(), waiting(model)) else {
            return;
        };
        let api = model.api.get_value();
        let Some(socket) = api.status_socket(&shown.id, &model.token.get_untracked()) else {
            return;
        };
        loop {
            match socket.next(SOCKET_LOOK_EVERY_MS).await {
                SocketEvent::View(text) => {
                    (worked, reconnects) = (true, 0);
                    let Some(updated) = WidgetSession::from_json_text(&text) else {
                        continue;
                    };
                    let Some(shown) = model.session.get_untracked() else {
                        return;
                    };
                    match settle(model, &shown, updated).await {
                        Ok(updated) => show_session(model, updated),
                        Err(problem) if problem.outcome_unknown() => {}
                        Err(problem) => {
                            show_problem(model, problem);
                            return;
                        }
                    }
                }
                SocketEvent::Closed => break,
                SocketEvent::Quiet => {}
            }
            if !waiting(model) {
                return;
            }
        }
        match socket_reconnect_delay_ms(worked, reconnects) {
            Some(delay_ms) => {
                reconnects += 1;
                sleep_ms(delay_ms).await;
            }
            None => return,
        }
    }
}

/// Whether the widget still shows the waiting screen (false once unmounted).
fn waiting(model: Model) -> bool {
    model.screen.try_get_untracked() == Some(Screen::Waiting)
}

/// Polls the session while a payment is under way, backing off, until it settles (the edge
/// asks the provider as it answers). Network blips are waited out, not shown.
async fn poll_until_settled(model: Model) {
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
        match poll(model, &session).await {
            Ok(updated) => show_session(model, updated),
            Err(problem) if problem.outcome_unknown() => {}
            Err(problem) => {
                show_problem(model, problem);
                break;
            }
        }
    }
}

/// One status check. While the payment waits, the wallet's summary is neither shown nor asked
/// for (`?wallet=omit`: one object call at the edge, not two): the one shown stays, so the
/// shopper's choice reads the same. Once the session is open again (the payment failed or was
/// cancelled at the provider, and its holds were given back) the pay form shows the balance and
/// points again, so they are read fresh. The paid and closed screens show none.
async fn poll(model: Model, shown: &Session) -> Result<WidgetSession, Problem> {
    let api = model.api.get_value();
    let updated = api
        .session(&shown.id, &model.token.get_untracked(), true, None)
        .await?;
    settle(model, shown, updated).await
}

/// What the widget shows for a status read without the wallet (a poll's answer or a pushed
/// view): the wallet figures shown so far, or fresh ones once the session is open again.
async fn settle(
    model: Model,
    shown: &Session,
    mut updated: WidgetSession,
) -> Result<WidgetSession, Problem> {
    let api = model.api.get_value();
    let token = model.token.get_untracked();
    if Screen::for_session(&updated) == Screen::Ready {
        return api.session(&shown.id, &token, false, None).await;
    }
    keep_wallet(&mut updated, shown);
    Ok(updated)
}

/// Gives up on the payment under way; the edge closes it at the provider first.
async fn cancel(model: Model) {
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
    let Some(NextAction::WechatJsapi { params }) = model
        .session
        .get_untracked()
        .and_then(|s| s.next_action.clone())
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
    // The sheet may answer after the page unmounted the widget: `try_`, not a panic.
    let on_answer = Closure::once_into_js(move |_answer: JsValue| {
        if model.screen.try_get_untracked() == Some(Screen::Waiting) {
            start_watching(model);
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
