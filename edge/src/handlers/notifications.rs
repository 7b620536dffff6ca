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
