//! The whole widget: loads the session, shows the order and the methods, pays, shows the result.

use checkout_core::api::{AllocationRequest, NextAction, PayRequest, PaymentMethod, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::{Closure, JsCast, JsValue};

use super::{BalancePay, ErrorNotice, MethodList, OrderSummary, ResultView, SplitEditor, Waiting};
use crate::api::{new_idempotency_key, Api};
use crate::events::Events;
use crate::state::{
    format_money, last_failure, method_availability, poll_delay_ms, split, uses_wallet,
    wechat_flow, Screen,
};

/// The widget's signals, shared by its event handlers.
#[derive(Clone, Copy)]
struct Model {
    screen: RwSignal<Screen>,
    session: RwSignal<Option<WidgetSession>>,
    token: RwSignal<String>,
    method: RwSignal<Option<PaymentMethod>>,
    password: RwSignal<String>,
    error: RwSignal<Option<ErrorDetail>>,
    paying: RwSignal<bool>,
    /// The key of an attempt whose answer was lost; a retry reuses it.
    retry_key: RwSignal<Option<String>>,
    /// Whether points, and store balance beside an external method, pay part of the total.
    use_points: RwSignal<bool>,
    use_balance: RwSignal<bool>,
    /// Whether a status-polling loop is running (at most one).
    watching: RwSignal<bool>,
    api: StoredValue<Api>,
    events: StoredValue<Events, LocalStorage>,
}

#[component]
pub fn Checkout(
    /// The edge's widget API.
    api: Api,
    /// The session's client secret, from the merchant's page.
    client_secret: String,
    /// The host element's events and the page's callbacks.
    events: StoredValue<Events, LocalStorage>,
) -> impl IntoView {
    let model = Model {
        screen: RwSignal::new(Screen::Loading),
        session: RwSignal::new(None),
        token: RwSignal::new(String::new()),
        method: RwSignal::new(None),
        password: RwSignal::new(String::new()),
        error: RwSignal::new(None),
        paying: RwSignal::new(false),
        retry_key: RwSignal::new(None),
        use_points: RwSignal::new(false),
        use_balance: RwSignal::new(false),
        watching: RwSignal::new(false),
        api: StoredValue::new(api),
        events,
    };
    spawn_local(load(model, client_secret));

    let status_text = move || match (model.screen.get(), model.paying.get()) {
        (Screen::Loading, _) => "Loading your order…".to_owned(),
        (_, true) => "Processing your payment…".to_owned(),
        (Screen::Paid, _) => "Payment complete.".to_owned(),
        (Screen::Waiting, false) => "Waiting for the payment to be confirmed.".to_owned(),
        (Screen::Closed(e), _) => e.message,
        (Screen::Ready, false) => model.error.get().map(|e| e.message).unwrap_or_default(),
    };
    view! {
        <section class="ck" aria-label="Checkout" aria-busy=move || model.paying.get().to_string()>
            <div class="ck-live" aria-live="polite" role="status">{status_text}</div>
            {move || screen_view(model)}
        </section>
    }
}

/// Re-renders only when the screen changes, so inputs keep their DOM nodes (and focus) while the
/// shopper types.
fn screen_view(model: Model) -> AnyView {
    let screen = model.screen.get();
    let Some(session) = model.session.get_untracked() else {
        return match screen {
            Screen::Closed(error) => view! { <ErrorNotice error=error /> }.into_any(),
            _ => view! { <p class="ck-loading">"Loading your order…"</p> }.into_any(),
        };
    };
    match screen {
        Screen::Paid => {
            let amount = format_money(&session.amount, session.currency.code());
            view! { <ResultView amount=amount return_url=session.return_url.clone() /> }.into_any()
        }
        Screen::Closed(error) => view! {
            <OrderSummary session=session.clone() />
            <ErrorNotice error=error />
        }
        .into_any(),
        Screen::Waiting => view! {
            <OrderSummary session=session.clone() />
            <Waiting
                session=session
                on_cancel=Callback::new(move |()| spawn_local(cancel(model)))
                on_reopen=Callback::new(move |()| open_pay_sheet(model))
            />
            {move || model.error.get().map(|error| view! { <ErrorNotice error=error /> })}
        }
        .into_any(),
        Screen::Loading | Screen::Ready => ready_view(model, session),
    }
}

fn ready_view(model: Model, session: WidgetSession) -> AnyView {
    let attempts_left = Signal::derive(move || {
        model
            .error
            .get()
            .and_then(|e| e.attempts_left)
            .filter(|n| *n > 0)
    });
    let balance_chosen = move || {
        uses_wallet(
            model.method.get(),
            model.use_points.get(),
            model.use_balance.get(),
        )
    };
    let offers_split = session.points.is_some()
        || (session.balance.is_some()
            && session
                .methods
                .iter()
                .any(|m| !matches!(m, PaymentMethod::Balance | PaymentMethod::Points)));
    let pay_label = move || {
        if model.paying.get() {
            "Processing…"
        } else if model.method.get() == Some(PaymentMethod::Bkash) {
            "Continue to bKash"
        } else if model.method.get() == Some(PaymentMethod::WechatPay) {
            "Pay with WeChat"
        } else {
            "Pay now"
        }
    };
    let session_for_balance = session.clone();
    view! {
        <OrderSummary session=session.clone() />
        <MethodList session=session.clone() chosen=model.method />
        {offers_split.then(|| view! {
            <SplitEditor
                session=session.clone()
                chosen=model.method
                use_points=model.use_points
                use_balance=model.use_balance
            />
        })}
        <Show when=balance_chosen>
            <BalancePay
                session=session_for_balance.clone()
                password=model.password
                attempts_left=attempts_left
            />
        </Show>
        {move || model.error.get().map(|error| view! { <ErrorNotice error=error /> })}
        <button
            type="button"
            class="ck-pay"
            data-testid="pay-button"
            disabled=move || model.paying.get() || model.method.get().is_none()
            on:click=move |_| spawn_local(pay(model))
        >
            {pay_label}
        </button>
    }
    .into_any()
}

/// Trades the client secret for a token and loads the session.
async fn load(model: Model, client_secret: String) {
    let api = model.api.get_value();
    let loaded = match api.token(&client_secret).await {
        Ok(grant) => {
            model.token.set(grant.token.clone());
            api.session(&grant.session_id, &grant.token).await
        }
        Err(error) => Err(error),
    };
    match loaded {
        Ok(session) => {
            let id = session.id.clone();
            show_session(model, session);
            model.events.with_value(|e| e.ready(&id));
        }
        Err(error) => {
            model
                .events
                .with_value(|e| e.error(error.code.as_str(), &error.message));
            model.screen.set(Screen::Closed(error));
        }
    }
}

/// Shows a session as it really is (also after a return from a provider).
fn show_session(model: Model, session: WidgetSession) {
    let screen = Screen::for_session(&session);
    if model.method.get_untracked().is_none() {
        let first_usable = session
            .methods
            .iter()
            .copied()
            .find(|m| method_availability(*m, &session).is_ok());
        model.method.set(first_usable);
    }
    if model.error.get_untracked().is_none() {
        model.error.set(last_failure(&session));
    }
    if screen == Screen::Paid {
        let (id, amount, currency) = (session.id.clone(), session.amount.clone(), session.currency);
        model
            .events
            .with_value(|e| e.complete(&id, &amount, currency.code()));
    }
    model.session.set(Some(session));
    if model.screen.get_untracked() != screen {
        model.screen.set(screen.clone());
    }
    if screen == Screen::Waiting && !model.watching.get_untracked() {
        spawn_local(watch(model));
    }
}

/// Polls the session while a payment is under way, backing off, until it settles (the edge
/// asks the provider as it answers). Network blips are waited out, not shown.
async fn watch(model: Model) {
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
            Err(error) if error.code == ErrorCode::InternalError => {}
            Err(error) => {
                model.error.set(Some(error));
                break;
            }
        }
    }
    model.watching.set(false);
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
        Err(error) => model.error.set(Some(error)),
    }
}

/// Hands WeChat's pay-sheet parameters to its in-app bridge, which exists only inside WeChat.
/// Whatever the sheet's answer, the session's status (polled) is what counts.
fn open_pay_sheet(model: Model) {
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
        serde_wasm_params(&params),
    ) else {
        let mut detail = ErrorDetail::new(ErrorCode::PaymentMethodUnavailable);
        detail.message = "Open this page in WeChat to pay with WeChat Pay.".into();
        model.error.set(Some(detail));
        return;
    };
    let on_answer = Closure::once_into_js(move |_answer: JsValue| {
        if model.screen.get_untracked() == Screen::Waiting && !model.watching.get_untracked() {
            spawn_local(watch(model));
        }
    });
    let _ = invoke.call3(&bridge, &"getBrandWCPayRequest".into(), &params, &on_answer);
}

fn serde_wasm_params(params: &checkout_core::api::WechatJsapiParams) -> Result<JsValue, ()> {
    let json = serde_json::to_string(params).map_err(|_| ())?;
    js_sys::JSON::parse(&json).map_err(|_| ())
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

async fn pay(model: Model) {
    let (Some(session), Some(method)) =
        (model.session.get_untracked(), model.method.get_untracked())
    else {
        return;
    };
    let (use_points, use_balance) = (
        model.use_points.get_untracked(),
        model.use_balance.get_untracked(),
    );
    let allocation = match split(&session, method, use_points, use_balance) {
        Ok(allocation) => allocation,
        Err(error) => {
            let mut detail = ErrorDetail::new(ErrorCode::InvalidAllocation);
            detail.message = format!("This split is not possible: {error}.");
            model.error.set(Some(detail));
            return;
        }
    };
    // When points and balance cover everything, the wallet pays alone.
    let method = match &allocation {
        Some(a) if a.external.is_none() && a.balance.is_zero() => PaymentMethod::Points,
        Some(a) if a.external.is_none() => PaymentMethod::Balance,
        _ => method,
    };
    let password =
        uses_wallet(Some(method), use_points, use_balance).then(|| model.password.get_untracked());
    if password.as_deref().is_some_and(|p| p.len() != 6) {
        let mut detail = ErrorDetail::new(ErrorCode::PayPasswordRequired);
        detail.message = "Enter your 6-digit pay password.".into();
        model.error.set(Some(detail));
        return;
    }
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
        pay_password: password,
        allocation: allocation.map(|a| AllocationRequest {
            points: a.points,
            balance: a.balance.to_decimal_string(),
        }),
    };
    let api = model.api.get_value();
    let result = api
        .pay(&session.id, &model.token.get_untracked(), &key, &request)
        .await;
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
        Err(error) => {
            // A definite answer ends the attempt; an unknown outcome (network, internal error)
            // keeps its key, so the retry returns the first result instead of paying twice.
            if error.code != ErrorCode::InternalError {
                model.retry_key.set(None);
            }
            model.password.set(String::new());
            model.error.set(Some(error));
        }
    }
}

/// Sends the top-level page to the provider (bKash's hosted page).
fn redirect(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}
