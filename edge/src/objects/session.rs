//! The `CheckoutSession` Durable Object: one per session, the only writer of its status. A thin
//! shell around the saga (`crate::saga`), which decides everything.
//!
//! For each command: load the record, `step` it with the input in one synchronous turn, save it
//! together with the intents the step listed (one write; the merchant events and audit entries
//! of the change in the same turn), set the alarm, then run the new intents one at a time (wallet
//! RPC, provider calls, each timed) and feed every answer back with another `step`, reloading the
//! record each time. No record is held across an `await`: whatever happened meanwhile (another
//! request, a notification) is in the record the next step sees. The reply is built from the
//! record at the end.
//!
//! The alarm feeds `Input::Alarm`: intents left listed by a request that ended (an evicted
//! object, a lost answer) are recovered by the saga's rules, never repeated blindly.
//!
//! Merchant events are written to the session's outbox in the same write as the change, and
//! handed to the merchant's `Webhooks` object after the reply (`session/outbox.rs`), so no
//! command waits for that hop.
//!
//! The widget's status sockets (`session/push.rs`, WebSocket Hibernation) are sent the view
//! after every save that changes it; while one waits on a leg the shopper is approving, the
//! alarm also asks the provider, as the widget's polls did.

mod alarm;
mod audit_trail;
mod measured;
mod notification;
mod outbox;
mod push;
mod run;
mod throttle;

pub use crate::saga::{CallbackOutcome, NotifiedEvent};
pub use push::TOKEN_EXP_HEADER as STATUS_TOKEN_EXP_HEADER;

use checkout_core::api::{
    AllocationRequest, BalanceSummary, CheckoutSession as SessionView, CreateRefundRequest, List,
    PaymentMethod, ProviderPaymentStatus, Refund, ResolveAction, WechatFlow, WidgetSession,
};
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
    WebSocket, WebSocketIncomingMessage,
};

use super::session_record::SessionRecord;
use super::wallet::WalletCommand;
use super::{reconciler, rpc, wallet_stub};
use crate::clock::now_s;
use crate::config::Mode;
use crate::connectors;
use crate::crypto::{random_id, secrets_equal};
use crate::error::{Error, Result};
use crate::saga::{self, replies, Ctx, Input, MethodLimits, PayInput, RefundInput};

/// The tables every session uses: its record, the outbox and the audit trail.
const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS session (k INTEGER PRIMARY KEY CHECK (k = 1), record TEXT NOT NULL)",
    outbox::OUTBOX_SCHEMA,
    audit_trail::AUDIT_SCHEMA,
];

/// How soon a failed alarm tries again.
const RECOVERY_AFTER_S: i64 = saga::RECOVERY_AFTER_S;
/// The most answers one request feeds back before leaving the rest to the alarm.
const MAX_STEPS_PER_REQUEST: usize = 16;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionCommand {
    /// Stores a new session, or returns the existing one for the same order and request.
    Create { record: Box<SessionRecord> },
    /// The merchant's view, if the session belongs to `merchant_scope`.
    Retrieve { merchant_scope: String },
    /// Checks a client secret before a widget token is granted.
    AuthorizeClient { client_secret: String },
    /// The shopper's view, with the wallet balance when balance or points are offered, unless
    /// `omit_wallet`: the widget's status poll while a payment waits at a provider, which shows
    /// no balance and so costs no wallet call (`?wallet=omit`).
    WidgetView {
        #[serde(default)]
        omit_wallet: bool,
    },
    /// The merchant id of the session, so the Worker can check a page's origin against that
    /// merchant's list (the pay-password frame's `frame-ancestors`). Nothing else is revealed.
    MerchantId,
    /// Pays the session with one method.
    Pay {
        idempotency_key: String,
        method: PaymentMethod,
        pay_password: Option<String>,
        /// Where an external provider sends the shopper back.
        callback_url: String,
        /// A split between points and balance.
        #[serde(default)]
        allocation: Option<AllocationRequest>,
        /// Where a provider posts its server-to-server notification.
        #[serde(default)]
        notify_url: String,
        #[serde(default)]
        wechat_flow: Option<WechatFlow>,
        /// The shopper's address, for providers that check it (WeChat H5).
        #[serde(default)]
        client_ip: Option<String>,
    },
    /// A provider's notification, already verified and decrypted by the Worker with the account
    /// of mode `livemode`, which must be the session's own.
    ProviderNotification {
        /// The provider whose notification route was called; only its legs can be touched.
        provider: PaymentMethod,
        nonce: String,
        #[serde(default)]
        livemode: bool,
        event: NotifiedEvent,
    },
    /// The shopper gives up on the external payment under way (closing it at the provider).
    CancelPayment,
    /// The shopper came back from the provider; answers where to send the browser.
    ProviderCallback {
        /// The provider whose callback route was called; only its legs can be touched.
        provider: PaymentMethod,
        reference: String,
        outcome: CallbackOutcome,
    },
    /// Settles an unfinished external leg by asking its provider (the reconciliation cron).
    Reconcile,
    /// Refunds part or all of a paid session.
    Refund {
        merchant_scope: String,
        idempotency_key: String,
        request: CreateRefundRequest,
        /// Where a provider posts the refund's outcome (WeChat Pay).
        #[serde(default)]
        notify_url: Option<String>,
    },
    /// A page of the session's audit trail, if it belongs to `merchant_scope`.
    Audit {
        merchant_scope: String,
        #[serde(default)]
        page: checkout_core::api::ListPage,
    },
    /// What the provider says now about an external payment.
    ProviderStatus {
        merchant_scope: String,
        payment_id: String,
    },
    /// The merchant captures the card authorization, whole or `amount` (a decimal string).
    Capture {
        merchant_scope: String,
        amount: Option<String>,
    },
    /// The merchant voids the card authorization.
    VoidAuthorization { merchant_scope: String },
    /// The merchant decides about a payment held for review.
    ResolvePayment {
        merchant_scope: String,
        payment_id: String,
        action: ResolveAction,
    },
}

impl SessionCommand {
    /// The command's `op`, as serde writes its tag (a test holds the two together): the audit
    /// trail's name for it, without serialising the command (and its record) to read it.
    pub fn name(&self) -> &'static str {
        match self {
            SessionCommand::Create { .. } => "create",
            SessionCommand::Retrieve { .. } => "retrieve",
            SessionCommand::AuthorizeClient { .. } => "authorize_client",
            SessionCommand::WidgetView { .. } => "widget_view",
            SessionCommand::MerchantId => "merchant_id",
            SessionCommand::Pay { .. } => "pay",
            SessionCommand::ProviderNotification { .. } => "provider_notification",
            SessionCommand::CancelPayment => "cancel_payment",
            SessionCommand::ProviderCallback { .. } => "provider_callback",
            SessionCommand::Reconcile => "reconcile",
            SessionCommand::Refund { .. } => "refund",
            SessionCommand::Audit { .. } => "audit",
            SessionCommand::ProviderStatus { .. } => "provider_status",
            SessionCommand::Capture { .. } => "capture",
            SessionCommand::VoidAuthorization { .. } => "void_authorization",
            SessionCommand::ResolvePayment { .. } => "resolve_payment",
        }
    }
}

/// What the session object answers, per command. Serialized as the bare value, so the Worker
/// reads each command's reply as its own type.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SessionReply {
    /// `Create`, `Retrieve`, `ResolvePayment`.
    Session(Box<SessionView>),
    /// `WidgetView`, `Pay`, `CancelPayment`.
    Widget(Box<WidgetSession>),
    /// `Refund`.
    Refund(Box<Refund>),
    /// `ProviderCallback`: where to send the browser; `MerchantId`.
    Text(String),
    /// `Audit`.
    Audit(List<serde_json::Value>),
    ProviderStatus(Box<ProviderPaymentStatus>),
    /// `AuthorizeClient`, `ProviderNotification`, `Reconcile`.
    Done(()),
}

#[durable_object]
pub struct CheckoutSession {
    state: State,
    env: Env,
    sql: SqlStorage,
    /// When the widget's status view last asked the provider, so polling cannot flood it.
    last_status_query_s: std::cell::Cell<i64>,
    /// The requests being served, for the audit trail.
    in_flight: audit_trail::InFlight,
    /// The audit trail's row count and last entry (`audit_trail.rs`).
    audit_tail: audit_trail::Tail,
    /// What this instance last told the reconciliation registry (unknown after a restart).
    tracked: std::cell::Cell<Option<bool>>,
    /// Whether this instance has made sure of the notification-nonce and provider-call tables.
    side_tables: std::cell::Cell<bool>,
    /// When this instance last deleted old notification nonces (`notification.rs`).
    nonces_pruned_s: std::cell::Cell<i64>,
    /// `CARD_AUTHORIZATION_VOID_AFTER_S` as first read by this instance.
    void_after_s: std::cell::Cell<Option<i64>>,
    /// The stored record as last read or written (write-through; storage stays the source of
    /// truth). An object runs one event at a time, so no other writer can change the row behind
    /// it; a failed write empties it, and a restart starts empty.
    cached: std::cell::RefCell<Option<SessionRecord>>,
    /// The wallet's summary as its `Debit` answered it, for this command's own widget view (a
    /// payment's answer), so the pay path does not ask the wallet twice. Emptied as each command
    /// starts.
    debit_summary: std::cell::RefCell<Option<BalanceSummary>>,
    /// The outbox's delivery to `Webhooks`, run after the reply (`outbox.rs`).
    delivery: outbox::Delivery,
    /// The alarm as this instance last wrote it, so an unchanged one is not written again.
    alarm: alarm::Alarm,
}

impl DurableObject for CheckoutSession {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        // One row holds the whole record, so every change is a single atomic write. The tables
        // every session uses are created in one `exec` (several statements: Cloudflare, "SQL
        // Storage", `exec`); those only provider notifications and callbacks use, on first use
        // (`side_tables`): most sessions never touch them.
        if let Err(e) = sql.exec(&SCHEMA.join(";"), None) {
            let message = format!("session schema: {e}");
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({ "message": message }),
            );
        }
        CheckoutSession {
            state,
            env,
            sql,
            last_status_query_s: std::cell::Cell::new(0),
            in_flight: audit_trail::InFlight::default(),
            audit_tail: audit_trail::Tail::default(),
            tracked: std::cell::Cell::new(None),
            side_tables: std::cell::Cell::new(false),
            nonces_pruned_s: std::cell::Cell::new(0),
            void_after_s: std::cell::Cell::new(None),
            cached: std::cell::RefCell::new(None),
            debit_summary: std::cell::RefCell::new(None),
            delivery: outbox::Delivery::default(),
            alarm: alarm::Alarm::default(),
        }
    }

    /// Only the widget's status socket (`push.rs`), a WebSocket upgrade, comes by `fetch`; the
    /// Worker's commands come over RPC ([`rpc::Commands`] below).
    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        if req.path() != STATUS_SOCKET_PATH {
            return rpc::fetch_refused();
        }
        match self.open_status_socket(&req).await {
            Ok(response) => Ok(response),
            Err(e) => rpc::upgrade_refused("session", e),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // The runtime deletes a fired alarm once this handler ends, unless the handler sets one.
        self.alarm.forget();
        self.in_flight.enter("alarm");
        // With status sockets open, the alarm may be their provider tick (`push.rs`).
        let outcome = match self.status_tick().await {
            Ok(true) => Ok(()),
            Ok(false) => self.on_alarm().await,
            Err(e) => Err(e),
        };
        self.in_flight.leave("alarm");
        self.flush_outbox().await;
        if let Err(e) = outcome {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "object": "session", "alarm": e.to_string()}),
            );
            // Try again soon rather than leave an attempt unresolved.
            self.alarm
                .write(&self.state.storage(), Some(now_s() + RECOVERY_AFTER_S))
                .await
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
        }
        Response::ok("")
    }

    /// A status socket only listens; whatever the page sends is ignored.
    async fn websocket_message(
        &self,
        _ws: WebSocket,
        _message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        Ok(())
    }

    /// The page closed its status socket: the close is answered (a no-op where the runtime
    /// answers it itself), and the provider tick stops with the last socket at its next alarm.
    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        let _ = ws.close(Some(1011), Some("error"));
        Ok(())
    }
}

/// The path on which the Worker forwards a status socket's upgrade to the session.
pub const STATUS_SOCKET_PATH: &str = "/status";

crate::serve_commands!(CheckoutSession);

impl rpc::Commands for CheckoutSession {
    const NAME: &'static str = "session";
    type Command = SessionCommand;
    type Answer = SessionReply;

    async fn run(&self, command: SessionCommand, source: Option<&str>) -> Result<SessionReply> {
        let source = source.unwrap_or("internal");
        self.debit_summary.replace(None);
        let (op, rule) = audit_trail::op_of(&command);
        let changes = self.in_flight.changes();
        self.in_flight.enter(source);
        let result = self.handle(command).await;
        self.in_flight.leave(source);
        if rule.audits(self.in_flight.changes() != changes) {
            self.audit_command(op, source, &result);
        }
        // The events are stored with the change; the hand-over to `Webhooks` waits for no one.
        self.deliver_after_reply();
        result
    }
}

impl CheckoutSession {
    async fn handle(&self, command: SessionCommand) -> Result<SessionReply> {
        match command {
            SessionCommand::Create { record } => Ok(session_reply(self.create(*record).await?)),
            SessionCommand::Retrieve { merchant_scope } => Ok(session_reply(
                self.owned_by(&merchant_scope)?.merchant_view(),
            )),
            SessionCommand::AuthorizeClient { client_secret } => {
                let record = self.current()?;
                if !secrets_equal(record.client_secret.as_bytes(), client_secret.as_bytes()) {
                    return Err(Error::api(ErrorCode::InvalidClientSecret));
                }
                Ok(SessionReply::Done(()))
            }
            SessionCommand::MerchantId => {
                let record = self.current()?;
                let (_mode, merchant_id) = record
                    .merchant_scope
                    .split_once(':')
                    .ok_or_else(|| Error::Invariant("a session scope without a mode".into()))?;
                Ok(SessionReply::Text(merchant_id.to_owned()))
            }
            SessionCommand::WidgetView { omit_wallet } => {
                self.refresh_from_provider().await?;
                if omit_wallet {
                    let record = self.current()?;
                    return Ok(SessionReply::Widget(Box::new(self.view_of(record, None)?)));
                }
                self.widget_reply().await
            }
            SessionCommand::Pay {
                idempotency_key,
                method,
                pay_password,
                callback_url,
                allocation,
                notify_url,
                wechat_flow,
                client_ip,
            } => {
                let pay = PayInput {
                    idempotency_key: idempotency_key.clone(),
                    method,
                    payment_id: format!("pay_{}", random_id(24)?),
                    allocation,
                    callback_url,
                    notify_url,
                    wechat_flow,
                    client_ip,
                };
                let record = self.drive(Input::Pay(pay), pay_password).await?;
                replies::pay_outcome(&record, &idempotency_key)?;
                self.widget_reply().await
            }
            SessionCommand::ProviderNotification {
                provider,
                nonce,
                livemode,
                event,
            } => {
                // A sandbox account's notification never settles a live session, nor the reverse.
                if self.current()?.livemode != livemode {
                    return Err(Error::api(ErrorCode::NotificationUnverified));
                }
                if self.nonce_seen(&nonce)? {
                    return Err(Error::api(ErrorCode::NotificationReplayed));
                }
                self.apply_notification(provider, event).await?;
                // Remembered only once applied: a notification that failed half-way is retried.
                self.remember_nonce(&nonce)?;
                Ok(SessionReply::Done(()))
            }
            SessionCommand::CancelPayment => {
                let record = self.drive(Input::Cancel, None).await?;
                replies::cancel_outcome(&record)?;
                self.widget_reply().await
            }
            SessionCommand::ProviderCallback {
                provider,
                reference,
                outcome,
            } => {
                let input = Input::Callback {
                    provider,
                    reference,
                    outcome,
                };
                let record = self.drive(input, None).await?;
                Ok(SessionReply::Text(record.return_url_with_session()))
            }
            SessionCommand::Reconcile => {
                let record = self.drive(Input::Reconcile, None).await?;
                // Also clears a registration the session no longer needs.
                reconciler::track(&self.env, &record.id, saga::needs_tracking(&record)).await?;
                Ok(SessionReply::Done(()))
            }
            SessionCommand::Refund {
                merchant_scope,
                idempotency_key,
                request,
                notify_url,
            } => {
                self.owned_by(&merchant_scope)?;
                let input = Input::Refund(RefundInput {
                    idempotency_key: idempotency_key.clone(),
                    refund_id: format!("re_{}", random_id(24)?),
                    request,
                    notify_url,
                });
                let record = self.drive(input, None).await?;
                Ok(SessionReply::Refund(Box::new(replies::refund_view(
                    &record,
                    &idempotency_key,
                )?)))
            }
            SessionCommand::ResolvePayment {
                merchant_scope,
                payment_id,
                action,
            } => {
                self.owned_by(&merchant_scope)?;
                let input = Input::ResolvePayment { payment_id, action };
                let record = self.drive(input, None).await?;
                Ok(session_reply(record.merchant_view()))
            }
            SessionCommand::Capture {
                merchant_scope,
                amount,
            } => {
                let record = self.owned_by(&merchant_scope)?;
                let amount = amount
                    .map(|a| {
                        checkout_core::Money::parse_positive(&a, record.amount.currency()).map_err(
                            |e| {
                                Error::api_with(ErrorCode::InvalidParameter, format!("amount: {e}"))
                            },
                        )
                    })
                    .transpose()?;
                let record = self.drive(Input::Capture { amount }, None).await?;
                Ok(session_reply(record.merchant_view()))
            }
            SessionCommand::VoidAuthorization { merchant_scope } => {
                self.owned_by(&merchant_scope)?;
                let record = self.drive(Input::VoidAuthorization, None).await?;
                Ok(session_reply(record.merchant_view()))
            }
            SessionCommand::Audit {
                merchant_scope,
                page,
            } => {
                self.owned_by(&merchant_scope)?;
                Ok(SessionReply::Audit(self.audit_trail(page)?))
            }
            SessionCommand::ProviderStatus {
                merchant_scope,
                payment_id,
            } => {
                let record = self.owned_by(&merchant_scope)?;
                let status = self.provider_status(&record, &payment_id).await?;
                Ok(SessionReply::ProviderStatus(Box::new(status)))
            }
        }
    }

    /// Steps the saga with `input`, then runs what it decided until nothing is left for this
    /// request, and returns the record as it ends up. `pay_password` is attached to the intents
    /// that need it; it is never stored.
    async fn drive(&self, input: Input, pay_password: Option<String>) -> Result<SessionRecord> {
        self.drive_with(input, pay_password, None).await
    }

    /// [`CheckoutSession::drive`], with the step's context when the caller made it in this same
    /// synchronous turn (nothing can have changed since).
    async fn drive_with(
        &self,
        input: Input,
        pay_password: Option<String>,
        ctx: Option<Ctx>,
    ) -> Result<SessionRecord> {
        let stranger = matches!(input, Input::Callback { .. } | Input::Notification { .. });
        let intents = {
            // One synchronous turn: load, step, save.
            let mut record = self.current()?;
            let ctx = match ctx {
                Some(ctx) => ctx,
                None => self.ctx(&record, &input)?,
            };
            let stepped = saga::step(&mut record, input, &ctx)?;
            let calls_provider = stepped
                .intents
                .iter()
                .any(|i| matches!(i.call, saga::Call::Provider { .. }));
            if stranger && calls_provider {
                self.take_provider_call()?;
            }
            self.commit(&record, &stepped)?;
            stepped.intents
        };
        self.after_commit().await?;
        self.run(intents, pay_password).await?;
        self.current()
    }

    /// What the saga needs to know besides the record: the time, the methods and their limits.
    /// The stranger-call budget is read (two queries) only for the inputs the saga consults it
    /// for, callbacks and notifications; for any other input its value is never looked at.
    fn ctx(&self, record: &SessionRecord, input: &Input) -> Result<Ctx> {
        let stranger = matches!(input, Input::Callback { .. } | Input::Notification { .. });
        let mode = Mode::of(record.livemode);
        let mut available = Vec::new();
        let mut limits = Vec::new();
        for method in &record.request.methods {
            let usable = match method {
                PaymentMethod::Points => record.points_rules.is_some(),
                PaymentMethod::Balance => true,
                other => match connectors::Connector::for_method(*other, &self.env, mode)? {
                    Some(connector) => {
                        let (min, max) = connector.amount_limits(record.amount.currency());
                        limits.push(MethodLimits {
                            method: *other,
                            min,
                            max,
                        });
                        true
                    }
                    None => false,
                },
            };
            if usable {
                available.push(*method);
            }
        }
        Ok(Ctx {
            now_s: now_s(),
            available,
            limits,
            stranger_call_allowed: !stranger || self.provider_call_fits()?,
            authorization_void_after_s: self.authorization_void_after_s()?,
        })
    }

    /// `CARD_AUTHORIZATION_VOID_AFTER_S`, or the saga's default; read once per instance (it was
    /// looked up, as a secret and then as a var, at every step).
    fn authorization_void_after_s(&self) -> Result<i64> {
        if let Some(seconds) = self.void_after_s.get() {
            return Ok(seconds);
        }
        let seconds = crate::config::read(&self.env, "CARD_AUTHORIZATION_VOID_AFTER_S")?
            .and_then(|s| s.expose().parse::<i64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(saga::AUTHORIZATION_VOID_AFTER_S);
        self.void_after_s.set(Some(seconds));
        Ok(seconds)
    }

    /// Saves a stepped record with its intents, and logs the step's alerts (same turn).
    fn commit(&self, record: &SessionRecord, stepped: &saga::Stepped) -> Result<()> {
        self.save(record)?;
        for alert in &stepped.alerts {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "alert": alert.alert, "session_id": record.id,
                    "subject": alert.subject, "detail": alert.detail}),
            );
        }
        Ok(())
    }

    /// After a write: the alarm set to the record's next due time, and the reconciliation
    /// registry told whether to watch the session.
    async fn after_commit(&self) -> Result<()> {
        let (tracking, changed, id) = {
            let record = self.current()?;
            let changed = self.tracking_changed(&record);
            (saga::needs_tracking(&record), changed, record.id)
        };
        self.arm_alarm().await?;
        if changed {
            reconciler::track(&self.env, &id, tracking).await?;
            self.tracked.set(Some(tracking));
        }
        Ok(())
    }

    /// Whether the registry's view of this session may differ from `record`'s.
    fn tracking_changed(&self, record: &SessionRecord) -> bool {
        let needed = saga::needs_tracking(record);
        // After a restart, a session with nothing to watch is left to the cron's own clean-up.
        self.tracked.get().map_or(needed, |told| told != needed)
    }

    async fn on_alarm(&self) -> Result<()> {
        if self.load()?.is_none() {
            return Ok(());
        }
        self.drive(Input::Alarm, None).await?;
        Ok(())
    }

    /// Asks the provider about a leg the shopper is approving, so a widget showing a QR code
    /// sees it paid without waiting for the notification. At most every few seconds.
    async fn refresh_from_provider(&self) -> Result<()> {
        let now = now_s();
        if now - self.last_status_query_s.get() < notification::STATUS_QUERY_EVERY_S {
            return Ok(());
        }
        if !push::awaits_shopper(&self.current()?) {
            return Ok(());
        }
        self.last_status_query_s.set(now);
        self.drive(Input::StatusPoll, None).await?;
        Ok(())
    }

    async fn create(&self, record: SessionRecord) -> Result<SessionView> {
        if let Some(existing) = self.load()? {
            let same = existing.merchant_scope == record.merchant_scope
                && existing.request == record.request;
            return if same {
                Ok(existing.merchant_view())
            } else {
                Err(Error::api(ErrorCode::OrderConflict))
            };
        }
        self.save(&record)?;
        self.tracked.set(Some(false));
        self.after_commit().await?;
        // The cron's safety net for the alarm; losing it only loses the net.
        if let Err(e) =
            reconciler::file_expiry(&self.env, &record.id, record.expires_at_s * 1000).await
        {
            crate::log::event(
                crate::log::Level::Warn,
                serde_json::json!({"object": "session", "session_id": record.id, "expiry_filing": e.to_string()}),
            );
        }
        Ok(record.merchant_view())
    }

    async fn widget_reply(&self) -> Result<SessionReply> {
        let record = self.current()?;
        Ok(SessionReply::Widget(Box::new(
            self.widget_view(record).await?,
        )))
    }

    async fn widget_view(&self, record: SessionRecord) -> Result<WidgetSession> {
        let balance = self.balance_summary(&record).await?;
        self.view_of(record, balance)
    }

    /// The shopper's view of `record`, with the wallet's `balance` summary when given.
    fn view_of(
        &self,
        record: SessionRecord,
        balance: Option<BalanceSummary>,
    ) -> Result<WidgetSession> {
        let mut view = record.widget_view(balance);
        let (mode, currency) = (Mode::of(record.livemode), record.amount.currency());
        for method in &record.request.methods {
            if let Some((min, max)) = method_limits(&self.env, *method, mode, currency)? {
                view.method_limits.push(checkout_core::api::MethodLimit {
                    method: *method,
                    min_minor: min.amount_minor(),
                    max_minor: max.amount_minor(),
                });
            }
        }
        Ok(view)
    }

    async fn balance_summary(&self, record: &SessionRecord) -> Result<Option<BalanceSummary>> {
        let methods = &record.request.methods;
        if !methods.contains(&PaymentMethod::Balance) && !methods.contains(&PaymentMethod::Points) {
            return Ok(None);
        }
        let currency = record.amount.currency();
        if let Some(summary) = self.debit_summary.take().filter(|s| s.currency == currency) {
            return Ok(Some(summary));
        }
        let command = WalletCommand::Summary { currency };
        Ok(Some(rpc::call(&self.wallet(record)?, &command).await?))
    }

    fn wallet(&self, record: &SessionRecord) -> Result<rpc::Stub> {
        wallet_stub(
            &self.env,
            &record.merchant_scope,
            &record.request.customer_id,
        )
    }

    fn owned_by(&self, merchant_scope: &str) -> Result<SessionRecord> {
        let record = self.current()?;
        if record.merchant_scope != merchant_scope {
            return Err(Error::api(ErrorCode::NotFound));
        }
        Ok(record)
    }

    /// The stored record, expired first if its time is up.
    fn current(&self) -> Result<SessionRecord> {
        let mut record = self
            .load()?
            .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
        if record.expire_if_due(now_s()) {
            self.save(&record)?;
        }
        Ok(record)
    }

    fn load(&self) -> Result<Option<SessionRecord>> {
        self.with_stored(|record| record.cloned())
    }

    /// `f` of the stored record (`None`: no session), borrowed from the cache, read into it
    /// first if it is empty: no copy of the record for a look at it.
    fn with_stored<R>(&self, f: impl FnOnce(Option<&SessionRecord>) -> R) -> Result<R> {
        if self.cached.borrow().is_none() {
            #[derive(Deserialize)]
            struct Row {
                record: String,
            }
            let rows: Vec<Row> = self
                .sql
                .exec("SELECT record FROM session WHERE k = 1", None)?
                .to_array()?;
            let record: Option<SessionRecord> = rows
                .first()
                .map(|row| serde_json::from_str(&row.record))
                .transpose()?;
            self.cached.replace(record);
        }
        Ok(f(self.cached.borrow().as_ref()))
    }

    /// Writes the record (with its intents), and in the same turn the merchant events and the
    /// audit entries its change causes; a change of the widget's view goes to its status
    /// sockets at once (`push.rs`).
    fn save(&self, record: &SessionRecord) -> Result<()> {
        let written = self.write(record);
        self.cached.replace(written.is_ok().then(|| record.clone()));
        if written? {
            self.push_status(record);
        }
        Ok(())
    }

    /// Writes the record if it changed; whether it did.
    fn write(&self, record: &SessionRecord) -> Result<bool> {
        let changed = self.with_stored(|before| -> Result<bool> {
            if before == Some(record) {
                return Ok(false);
            }
            if let Some(before) = before {
                self.record_events(before, record)?;
            }
            self.audit_changes(before, record)?;
            Ok(true)
        })??;
        if changed {
            self.sql.exec(
                "INSERT INTO session (k, record) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET record = excluded.record",
                vec![serde_json::to_string(record)?.into()],
            )?;
        }
        Ok(changed)
    }
}

/// What an external method takes per payment (`None` for the wallet's methods and for a provider
/// without an account in `mode`). Read from the provider's configuration once per isolate, whose
/// bindings do not change while it runs, so a widget's status poll does not read a dozen
/// variables (a private key among them) on every call.
fn method_limits(
    env: &Env,
    method: PaymentMethod,
    mode: Mode,
    currency: checkout_core::Currency,
) -> Result<Option<(checkout_core::Money, checkout_core::Money)>> {
    type Limits = Option<(checkout_core::Money, checkout_core::Money)>;
    type Key = (PaymentMethod, Mode, checkout_core::Currency);
    thread_local! {
        static KNOWN: std::cell::RefCell<Vec<(Key, Limits)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (method, mode, currency);
    if let Some(limits) = KNOWN.with(|known| {
        known
            .borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, limits)| *limits)
    }) {
        return Ok(limits);
    }
    let limits = connectors::Connector::for_method(method, env, mode)?
        .map(|connector| connector.amount_limits(currency));
    KNOWN.with(|known| known.borrow_mut().push((key, limits)));
    Ok(limits)
}

fn session_reply(view: SessionView) -> SessionReply {
    SessionReply::Session(Box::new(view))
}

#[cfg(test)]
mod tests {
    use checkout_core::api::{CreateRefundRequest, ListPage, PaymentMethod, ResolveAction};

    use super::{CallbackOutcome, NotifiedEvent, SessionCommand};

    /// Every command, for the name check (the record of `Create` from the saga's test fixture).
    fn every_command() -> Vec<SessionCommand> {
        let scope = || "test:m".to_owned();
        vec![
            SessionCommand::Create {
                record: Box::new(crate::saga::record::tests::record()),
            },
            SessionCommand::Retrieve {
                merchant_scope: scope(),
            },
            SessionCommand::AuthorizeClient {
                client_secret: "s".into(),
            },
            SessionCommand::WidgetView { omit_wallet: true },
            SessionCommand::MerchantId,
            SessionCommand::Pay {
                idempotency_key: "k".into(),
                method: PaymentMethod::Balance,
                pay_password: None,
                callback_url: "https://shop.example/back".into(),
                allocation: None,
                notify_url: String::new(),
                wechat_flow: None,
                client_ip: None,
            },
            SessionCommand::ProviderNotification {
                provider: PaymentMethod::WechatPay,
                nonce: "n".into(),
                livemode: false,
                event: NotifiedEvent::Changed {
                    payment_id: "pay_1".into(),
                },
            },
            SessionCommand::CancelPayment,
            SessionCommand::ProviderCallback {
                provider: PaymentMethod::Bkash,
                reference: "r".into(),
                outcome: CallbackOutcome::Success,
            },
            SessionCommand::Reconcile,
            SessionCommand::Refund {
                merchant_scope: scope(),
                idempotency_key: "k".into(),
                request: CreateRefundRequest {
                    amount: "1.00".into(),
                    reason: "r".into(),
                },
                notify_url: None,
            },
            SessionCommand::Audit {
                merchant_scope: scope(),
                page: ListPage::default(),
            },
            SessionCommand::ProviderStatus {
                merchant_scope: scope(),
                payment_id: "pay_1".into(),
            },
            SessionCommand::Capture {
                merchant_scope: scope(),
                amount: None,
            },
            SessionCommand::VoidAuthorization {
                merchant_scope: scope(),
            },
            SessionCommand::ResolvePayment {
                merchant_scope: scope(),
                payment_id: "pay_1".into(),
                action: ResolveAction::Accept,
            },
        ]
    }

    #[test]
    fn a_commands_name_is_the_op_serde_writes_for_it() {
        let commands = every_command();
        for command in &commands {
            let value = serde_json::to_value(command).unwrap();
            assert_eq!(value["op"], command.name(), "{command:?}");
        }
        // Every variant is in the list: serde names them all when refusing an unknown one.
        let refused = serde_json::from_str::<SessionCommand>(r#"{"op":"?"}"#).unwrap_err();
        let expected = refused.to_string();
        let variants = expected.matches('`').count() / 2 - 1;
        assert_eq!(variants, commands.len(), "{expected}");
    }
}
