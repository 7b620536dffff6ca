//! Provider notifications: WeChat Pay's signed, encrypted server-to-server calls about payments
//! and refunds.
//!
//! Answers follow WeChat's rule: 204 tells it to stop; a 4xx or 5xx with
//! `{"code":"FAIL","message":..}` makes it retry on its schedule (15 s, 15 s, 30 s, 3 min, ...
//! for about a day). So anything not verified and applied is refused, never acknowledged.

use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::config::Mode;
use crate::connectors::wechat::signature::SignedHeaders;
use crate::connectors::wechat::{NotificationError, NotificationEvent, Wechat};
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::{NotifiedEvent, SessionCommand};
use crate::objects::{self, rpc};

/// `POST /v1/notifications/wechat/{session_id}`.
pub async fn wechat(
    mut req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let test = Wechat::from_env(env, Mode::Test)?;
    let live = Wechat::from_env(env, Mode::Live)?;
    if test.is_none() && live.is_none() {
        return Err(Error::api(ErrorCode::NotFound));
    }
    let body = String::from_utf8(http::read_body(&mut req).await?)
        .map_err(|_| Error::api(ErrorCode::NotificationUnreadable))?;
    let headers = SignedHeaders::read(|name| req.headers().get(name).ok().flatten());
    // The account is the one whose platform key the notification names; it is verified with
    // that key, and the session refuses it unless the account's mode is its own.
    let mut livemode = false;
    let opened = match headers {
        Ok(headers) => {
            let (mode, wechat) = match (&test, &live) {
                (_, Some(live)) if live.signs_as(&headers.serial) => (Mode::Live, live),
                (Some(test), _) => (Mode::Test, test),
                (None, Some(live)) => (Mode::Live, live),
                (None, None) => return Err(Error::api(ErrorCode::NotFound)),
            };
            livemode = mode == Mode::Live;
            wechat.open_notification(&headers, &body).await?
        }
        Err(error) => Err(NotificationError::Unverified(error)),
    };
    let notification = match opened {
        Ok(notification) => notification,
        Err(error) => return refuse(session_id, &error.to_string(), refusal_code(&error)),
    };
    let event = match notification.event {
        NotificationEvent::Payment(payment) => NotifiedEvent::Payment { payment },
        NotificationEvent::Refund { out_refund_no } => NotifiedEvent::Refund {
            refund_id: out_refund_no,
        },
    };
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::ProviderNotification {
        provider: checkout_core::api::PaymentMethod::WechatPay,
        nonce: notification.nonce,
        livemode,
        event,
    };
    match rpc::call_for::<_, ()>(&stub, &command, Some(request_id)).await {
        Ok(()) => Ok(Response::empty()?.with_status(204)),
        Err(Error::Api(detail)) => {
            let ErrorDetail { code, message, .. } = *detail;
            refuse(session_id, &message, code)
        }
        Err(internal) => Err(internal),
    }
}

fn refusal_code(error: &NotificationError) -> ErrorCode {
    match error {
        NotificationError::Unverified(_) => ErrorCode::NotificationUnverified,
        NotificationError::Undecryptable
        | NotificationError::ForeignMerchant
        | NotificationError::Malformed(_) => ErrorCode::NotificationUnreadable,
    }
}

/// WeChat's failure answer. Logged here, as the reason is the on-call engineer's first question.
fn refuse(session_id: &str, reason: &str, code: ErrorCode) -> Result<Response> {
    crate::log::event(
        crate::log::Level::Warn,
        serde_json::json!({"notification": "wechat", "session_id": session_id,
            "refused": code.as_str(), "reason": reason}),
    );
    let body = serde_json::json!({"code": "FAIL", "message": reason});
    http::json(code.http_status(), &body)
}

/// `POST /v1/notifications/stripe`: Stripe's webhooks, for both modes' accounts.
///
/// The raw body is verified against `Stripe-Signature` with each configured account's webhook
/// secret before anything in it is read (docs.stripe.com/webhooks/signatures); the account
/// whose secret matched is the event's mode, and an event whose `livemode` says otherwise is
/// refused. A verified event is a hint (docs.stripe.com/webhooks, "Handle duplicate events",
/// "Event ordering"): our session and payment ids are read from the object's metadata (or its
/// PaymentIntent's, for charges and refunds), and the session re-reads the payment at Stripe.
///
/// Answers: 200 for every verified event, including those about nothing of ours and the types
/// the checkout does not handle (Stripe retries anything else for three days); 400 with
/// `notification_unverified` or `notification_unreadable` for a refused one; 5xx when the
/// session could not apply it, so Stripe retries.
pub async fn stripe(mut req: Request, env: &Env, request_id: &str) -> Result<Response> {
    use crate::connectors::stripe::{event, signature, Stripe};

    let test = Stripe::from_env(env, Mode::Test)?;
    let live = Stripe::from_env(env, Mode::Live)?;
    if test.is_none() && live.is_none() {
        return Err(Error::api(ErrorCode::NotFound));
    }
    let body = http::read_body(&mut req).await?;
    let header = req.headers().get(signature::HEADER)?;
    let now = crate::clock::now_s();
    let mut refusal = signature::SignatureError::MissingHeader;
    let mut verified = None;
    for (mode, account) in [(Mode::Test, &test), (Mode::Live, &live)] {
        let Some(account) = account else { continue };
        let secret = account.config().webhook_secret.expose();
        match signature::verify(header.as_deref(), &body, secret, now) {
            Ok(_) => {
                verified = Some((mode, account));
                break;
            }
            Err(error) => refusal = error,
        }
    }
    let Some((mode, stripe)) = verified else {
        return stripe_refusal(
            ErrorCode::NotificationUnverified,
            &refusal.to_string(),
            None,
        );
    };
    let hint = match event::parse_event(&body) {
        Ok(hint) => hint,
        Err(error) => {
            return stripe_refusal(ErrorCode::NotificationUnreadable, &error.to_string(), None)
        }
    };
    let livemode = mode == Mode::Live;
    if hint.livemode != livemode {
        return stripe_refusal(
            ErrorCode::NotificationUnverified,
            "the event's livemode is not the mode of the account whose secret signed it",
            Some(&hint.event_id),
        );
    }
    if matches!(hint.kind, event::EventKind::Other(_)) {
        return stripe_received(&hint.event_id, Some("event type not handled"));
    }
    // Our ids: on the object itself (sessions, intents), else on its PaymentIntent.
    let ours = |metadata: &std::collections::BTreeMap<String, String>| match (
        metadata.get("session_id"),
        metadata.get("payment_id"),
    ) {
        (Some(session), Some(payment)) => Some((session.clone(), payment.clone())),
        _ => None,
    };
    let found = match (ours(&hint.metadata), &hint.payment_intent) {
        (Some(found), _) => Some(found),
        (None, Some(intent)) => {
            let intent = stripe.retrieve_intent(intent).await.map_err(Error::from)?;
            ours(&intent.metadata)
        }
        (None, None) => None,
    };
    let Some((session_id, payment_id)) = found else {
        return stripe_received(&hint.event_id, Some("not about a checkout payment"));
    };
    let stub = match objects::session_by_id(env, &session_id) {
        Ok(stub) => stub,
        Err(Error::Api(_)) => return stripe_received(&hint.event_id, Some("no such session")),
        Err(other) => return Err(other),
    };
    let command = SessionCommand::ProviderNotification {
        provider: checkout_core::api::PaymentMethod::Card,
        nonce: hint.event_id.clone(),
        livemode,
        event: NotifiedEvent::Changed { payment_id },
    };
    match rpc::call_for::<_, ()>(&stub, &command, Some(request_id)).await {
        Ok(()) => stripe_received(&hint.event_id, None),
        Err(Error::Api(detail)) => match detail.code {
            ErrorCode::NotificationReplayed => {
                stripe_received(&hint.event_id, Some("already received"))
            }
            ErrorCode::NotFound | ErrorCode::UnknownProviderPayment => {
                stripe_received(&hint.event_id, Some("no such payment"))
            }
            ErrorCode::NotificationUnverified => stripe_refusal(
                ErrorCode::NotificationUnverified,
                "the session is of the other mode",
                Some(&hint.event_id),
            ),
            // Rate limited or refused for now: Stripe retries with back-off.
            code => stripe_refusal(code, &detail.message, Some(&hint.event_id)),
        },
        Err(internal) => Err(internal),
    }
}

/// 200: the event is taken (or knowingly ignored).
fn stripe_received(event_id: &str, ignored: Option<&str>) -> Result<Response> {
    let body = match ignored {
        Some(reason) => serde_json::json!({"received": true, "ignored": reason}),
        None => serde_json::json!({"received": true}),
    };
    if let Some(reason) = ignored {
        crate::log::event(
            crate::log::Level::Info,
            serde_json::json!({"notification": "stripe", "event_id": event_id, "ignored": reason}),
        );
    }
    http::json(200, &body)
}

/// A refused webhook: logged with its reason; the sender gets the code, never a secret.
fn stripe_refusal(code: ErrorCode, reason: &str, event_id: Option<&str>) -> Result<Response> {
    crate::log::event(
        crate::log::Level::Warn,
        serde_json::json!({"notification": "stripe", "event_id": event_id,
            "refused": code.as_str(), "reason": reason}),
    );
    let status = match code {
        ErrorCode::NotificationUnverified | ErrorCode::NotificationUnreadable => 400,
        other => other.http_status(),
    };
    let body = serde_json::json!({"error": {"code": code.as_str(), "message": reason}});
    http::json(status, &body)
}
