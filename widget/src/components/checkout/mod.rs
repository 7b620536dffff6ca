//! The whole widget: loads the session, shows the order and the methods, pays, shows the result.

mod at_provider;
mod changes;
mod paying;

pub(crate) use at_provider::{preload_status_polling, preload_waiting_screen};
use at_provider::{start_watching, waiting_screen};
use changes::{choice_inputs, report_changes};
use checkout_core::api::{PaymentMethod, WidgetSession};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
pub(crate) use paying::preload_pay;
use paying::start_payment;

use super::balance_pay::{wallet_form, FRAME_ID};
use super::fresh::Fresh;
use super::parts::part_view;
use super::result::paid_screen;
use super::{ErrorNotice, MethodList, OrderSummary, SplitEditor};
use crate::api::{Api, Sent};
use crate::events::Events;
use crate::i18n::{format, Locale};
use crate::password_frame;
use crate::state::{last_failure, method_availability, uses_wallet, Problem, Screen, Session};

/// The widget's signals, shared by its event handlers.
#[derive(Clone, Copy)]
struct Model {
    /// Set through [`Model::show`] only.
    screen: RwSignal<Screen>,
    session: RwSignal<Option<Session>>,
    token: RwSignal<String>,
    method: RwSignal<Option<PaymentMethod>>,
    error: RwSignal<Option<Problem>>,
    paying: RwSignal<bool>,
    /// The key of an attempt whose answer was lost; a retry reuses it.
    retry_key: RwSignal<Option<String>>,
    /// Whether points, and store balance beside an external method, pay part of the total.
    use_points: RwSignal<bool>,
    use_balance: RwSignal<bool>,
    /// The points the shopper typed, when they changed the suggested figure.
    points_entry: RwSignal<Option<String>>,
    /// Whether the rules refuse the points typed (Pay waits; the field says why).
    points_refused: RwSignal<bool>,
    /// Whether a status-polling loop is running (at most one).
    watching: RwSignal<bool>,
    /// The shopper's language; the merchant may change it while the widget is up.
    locale: RwSignal<Locale>,
    api: StoredValue<Api>,
    events: StoredValue<Events, LocalStorage>,
    /// The widget's outermost element, to move focus within it.
    root: NodeRef<html::Section>,
    /// The pay-password frame's listener for Enter (set by the wallet form's part; dropped, and
    /// so removed, with the widget or the next form).
    frame_submit: StoredValue<Option<password_frame::Listening>, LocalStorage>,
}

impl Model {
    /// Shows `screen`. Setting the screen already shown changes nothing: the screen is built
    /// again only when it changes (or the language does), so a form keeps what the shopper typed.
    fn show(self, screen: Screen) {
        self.screen.maybe_update(|shown| {
            let changed = *shown != screen;
            *shown = screen;
            changed
        });
    }

    /// Runs `task` while the widget is mounted. Unmounting disposes the widget's signals, and
    /// the task is dropped before its next step: no task touches the widget's state once it is
    /// gone (that would abort the wasm, and every widget on the page with it). Tied to the
    /// widget, not to the view that started it: a payment goes on when its screen changes.
    fn spawn(self, task: impl std::future::Future<Output = ()> + 'static) {
        let mut task = Box::pin(task);
        spawn_local(std::future::poll_fn(move |context| {
            if self.screen.is_disposed() {
                return std::task::Poll::Ready(());
            }
            task.as_mut().poll(context)
        }));
    }
}

#[component]
pub fn Checkout(
    /// The edge's widget API.
    api: Api,
    /// The session's client secret, from the merchant's page.
    client_secret: String,
    /// The host element's events and the page's callbacks.
    events: StoredValue<Events, LocalStorage>,
    /// The language to speak, resolved from the merchant's option and the browser.
    locale: RwSignal<Locale>,
    /// The first two calls, if the loader already sent them.
    sent: Option<Sent>,
) -> impl IntoView {
    let model = Model {
        screen: RwSignal::new(Screen::Loading),
        session: RwSignal::new(None),
        token: RwSignal::new(String::new()),
        method: RwSignal::new(None),
        error: RwSignal::new(None),
        paying: RwSignal::new(false),
        retry_key: RwSignal::new(None),
        use_points: RwSignal::new(false),
        use_balance: RwSignal::new(false),
        points_entry: RwSignal::new(None),
        points_refused: RwSignal::new(false),
        watching: RwSignal::new(false),
        locale,
        api: StoredValue::new(api),
        events,
        root: NodeRef::new(),
        frame_submit: StoredValue::new_local(None),
    };
    model.spawn(load(model, client_secret, sent, Owner::current()));

    // The one place status changes are announced (the error notice and the attempts left are
    // not live regions of their own, so nothing is read twice).
    let status_text = move || {
        let locale = model.locale.get();
        let t = locale.messages();
        let problem = || model.error.get().map(|p| locale.problem_status(&p));
        match (model.screen.get(), model.paying.get()) {
            (Screen::Loading, _) => t.loading.to_owned(),
            (_, true) => t.processing_payment.to_owned(),
            (Screen::Paid, _) => t.payment_complete_status.to_owned(),
            (Screen::Authorized, _) => t.payment_authorized_status.to_owned(),
            (Screen::Waiting, false) => problem().unwrap_or_else(|| t.waiting_status.to_owned()),
            (Screen::Closed(p), _) => locale.problem_text(&p),
            (Screen::Ready, false) => problem().unwrap_or_default(),
        }
    };
    view! {
        <section
            class="ck"
            node_ref=model.root
            lang=move || model.locale.get().tag()
            aria-label=move || model.locale.get().messages().checkout_label
            aria-busy=move || if model.paying.get() { "true" } else { "false" }
        >
            <div class="ck-live" aria-live="polite" role="status">{status_text}</div>
            {move || screen_view(model, model.screen.get())}
        </section>
    }
}

/// Runs only when the screen (or the language) changes, so inputs keep their DOM nodes (and
/// focus) while the shopper types. A screen is then built afresh ([`Fresh`]); everything the
/// shopper entered lives in the model's signals, so it shows again.
fn screen_view(model: Model, screen: Screen) -> AnyView {
    let locale = model.locale.get();
    let Some(session) = model.session.get_untracked() else {
        return match screen {
            Screen::Closed(error) => view! { <ErrorNotice error=error locale=locale /> }.into_any(),
            _ => view! { <p class="ck-loading">{locale.messages().loading}</p> }.into_any(),
        };
    };
    match screen {
        Screen::Paid | Screen::Authorized => {
            let amount = format::amount(session.amount_minor, session.currency, locale);
            let authorized = screen == Screen::Authorized;
            part_view(
                Box::pin(paid_screen(
                    amount,
                    session.return_url.clone(),
                    authorized,
                    locale,
                )),
                locale,
            )
        }
        Screen::Closed(error) => Fresh(view! {
            <OrderSummary session=session.clone() locale=locale />
            <ErrorNotice error=error locale=locale />
        })
        .into_any(),
        Screen::Waiting => Fresh(view! {
            <OrderSummary session=session.clone() locale=locale />
            {part_view(Box::pin(waiting_screen(model, session, locale)), locale)}
            {notice(model, locale)}
        })
        .into_any(),
        Screen::Loading | Screen::Ready => ready_view(model, session, locale),
    }
}

/// The error notice beside a form, while there is a problem to tell. Erased, like the notice of
/// a closed session: one kind of view for the first view's code.
fn notice(model: Model, locale: Locale) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static {
    move || {
        model
            .error
            .get()
            .map(|error| view! { <ErrorNotice error=error locale=locale /> }.into_any())
    }
}

fn ready_view(model: Model, session: Session, locale: Locale) -> AnyView {
    let t = locale.messages();
    let attempts_left = Signal::derive(move || model.error.get().and_then(|e| e.attempts_left()));
    // A memo: the form is built again only when it appears, not on every change of the split.
    let balance_chosen = Memo::new(move |_| {
        uses_wallet(
            model.method.get(),
            model.use_points.get(),
            model.use_balance.get(),
        )
    });
    let offers_split = session.points.is_some()
        || (session.balance.is_some()
            && session
                .methods
                .iter()
                .any(|m| !matches!(m, PaymentMethod::Balance | PaymentMethod::Points)));
    // Owned, like the status text: one kind of text node for the first view's code.
    let pay_label = move || {
        if model.paying.get() {
            t.processing
        } else if model.method.get() == Some(PaymentMethod::Bkash) {
            t.continue_bkash
        } else if model.method.get() == Some(PaymentMethod::WechatPay) {
            t.pay_wechat
        } else if model.method.get() == Some(PaymentMethod::Card) {
            t.continue_card
        } else {
            t.pay_now
        }
        .to_owned()
    };
    let session_for_balance = session.clone();
    Fresh(view! {
        <OrderSummary session=session.clone() locale=locale />
        <MethodList session=session.clone() chosen=model.method locale=locale />
        {offers_split.then(|| view! {
            <SplitEditor
                session=session.clone()
                chosen=model.method
                use_points=model.use_points
                use_balance=model.use_balance
                points_entry=model.points_entry
                points_refused=model.points_refused
                locale=locale
            />
        })}
        {move || balance_chosen.get().then(|| part_view(
            Box::pin(wallet_form(
                session_for_balance.clone(),
                model.api.get_value(),
                submit_hook(model),
                attempts_left,
                locale,
            )),
            locale,
        ))}
        {notice(model, locale)}
        <button
            type="button"
            class="ck-pay"
            data-testid="pay-button"
            disabled=move || {
                model.paying.get() || model.method.get().is_none() || model.points_refused.get()
            }
            on:click=move |_| pay_unless_busy(model)
        >
            {pay_label}
        </button>
    })
    .into_any()
}

/// Pays, unless a payment is under way or the Pay button is off (Enter in the pay-password frame
/// does what the button does).
fn pay_unless_busy(model: Model) {
    let off = model.paying.get_untracked()
        || model.method.get_untracked().is_none()
        || model.points_refused.get_untracked();
    if !off {
        model.spawn(start_payment(model));
    }
}

/// What the wallet form's part needs to make Enter in the frame pay like the Pay button.
fn submit_hook(model: Model) -> password_frame::SubmitHook {
    password_frame::SubmitHook {
        origin: model.api.get_value().origin().to_owned(),
        frame: std::rc::Rc::new(move || frame_element(model)),
        submit: std::rc::Rc::new(move || pay_unless_busy(model)),
        slot: model.frame_submit,
    }
}

/// The pay-password frame's element in the widget, once its part is shown.
fn frame_element(model: Model) -> Option<web_sys::HtmlIFrameElement> {
    use wasm_bindgen::JsCast;
    let selector = format!("#{FRAME_ID}");
    model
        .root
        .try_get_untracked()??
        .query_selector(&selector)
        .ok()??
        .dyn_into()
        .ok()
}

/// Trades the client secret for a token, loads the session, and starts reporting the shopper's
/// changes (under `owner`, the widget's).
async fn load(model: Model, client_secret: String, sent: Option<Sent>, owner: Option<Owner>) {
    let api = model.api.get_value();
    let (token, session) = match sent {
        Some(sent) => (Some(sent.token), Some(sent.session)),
        None => (None, None),
    };
    let loaded = match api.token(&client_secret, token).await {
        Ok(grant) => {
            model.token.set(grant.token.clone());
            api.session(&grant.session_id, &grant.token, false, session)
                .await
        }
        Err(error) => Err(error),
    };
    match loaded {
        Ok(session) => {
            let id = session.id.clone();
            super::parts::hold_parts_for_a_frame();
            show_session(model, session);
            model.events.with_value(|e| e.ready(&id));
            spawn_local(super::parts::prefetch_all());
            // Changes are measured from the choice shown first.
            let first = choice_inputs(model);
            super::parts::after_first_view().await;
            // The shopper hears of a network that drops when they pay; the page's developer
            // should know why its change events stopped.
            if let Some(owner) = owner {
                if report_changes(model, owner, first).await.is_err() {
                    crate::warn("checkout:change events are off: their part could not be loaded");
                }
            }
        }
        Err(problem) => {
            report_error(model, &problem);
            model.show(Screen::Closed(problem));
        }
    }
}

/// Shows `problem` beside the form and tells the page (`checkout:error`).
fn show_problem(model: Model, problem: Problem) {
    report_error(model, &problem);
    model.error.set(Some(problem));
}

/// `checkout:error`, with the message in the shopper's language (once the error messages' part
/// is here, or without it if it cannot be had).
fn report_error(model: Model, problem: &Problem) {
    let problem = problem.clone();
    model.spawn(async move {
        let _ = crate::i18n::errors::load().await;
        let message = model.locale.get_untracked().problem_text(&problem);
        model
            .events
            .with_value(|e| e.error(problem.code(), &message));
    });
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
        if let Some(problem) = last_failure(&session) {
            show_problem(model, problem);
        }
    }
    // An authorization is the shopper's end too: the shop captures it later.
    let done = matches!(screen, Screen::Paid | Screen::Authorized);
    if done && model.screen.get_untracked() != screen {
        // The page's event carries a decimal string, like the merchant API.
        let amount = session.total().map(|total| total.to_decimal_string());
        let (id, amount, currency) = (
            session.id.clone(),
            amount.unwrap_or_default(),
            session.currency,
        );
        model
            .events
            .with_value(|e| e.complete(&id, session.status, &amount, currency.code()));
    }
    model.session.set(Some(Session::new(session)));
    model.show(screen.clone());
    if screen == Screen::Waiting {
        start_watching(model);
    }
}
