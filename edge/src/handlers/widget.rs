//! The widget's API: trade the client secret for a token, read the session, pay, cancel.

use checkout_core::api::{self, PayRequest, TokenRequest, TokenResponse, WidgetSession};
use checkout_core::client_secret;
use checkout_core::token::{self, WidgetClaims, MAX_TOKEN_LIFETIME_S};
use checkout_core::ErrorCode;
use worker::{Context, Env, Request, Response};

use crate::auth;
use crate::clock::now_s;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::SessionCommand;
use crate::objects::{self, rpc};
use crate::rate_limit::{self, Action, Limiter, Subject};

/// `OPTIONS /v1/widget/...`; the router's `respond` adds the origin when it is allowed.
pub fn preflight() -> Result<Response> {
    http::widget_preflight()
}

/// `POST /v1/widget/token`: a token for the session named in the client secret, bound to the
/// calling page's origin, which must be the Worker's own or on the session merchant's list.
/// Counted per client address (every try) and per session (every grant).
pub async fn grant_token(mut req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let limiter = Limiter::new(env, request_id)?;
    limiter.hit(&Subject::client(&req)?, Action::Token).await?;
    let request: TokenRequest = http::read_json(&mut req).await?;
    // No page, no token: a client secret replayed from a script without `Origin` is refused.
    let origin = http::required_origin(&req)?;
    let key = config.token_signing_key.expose();
    let (session_id, merchant_id) =
        match client_secret::verify(key.as_bytes(), &request.client_secret, now_s()) {
            // Signed by this Worker: no need to ask the session.
            Ok(secret) => (secret.session_id, Some(secret.merchant_id)),
            Err(client_secret::Refusal::Invalid) => {
                return Err(Error::api(ErrorCode::InvalidClientSecret))
            }
            // An older secret: the session compares it with the one it keeps.
            Err(client_secret::Refusal::NotThisFormat) => {
                authorize_with_session(env, request.client_secret).await?
            }
        };
    // The merchant named in the secret is authentic now: signed by this Worker, or compared whole
    // by the session.
    if !origin_allowed(
        &config,
        merchant_id.as_deref(),
        &origin,
        &http::own_origin(&req)?,
    ) {
        return Err(Error::api(ErrorCode::OriginNotAllowed));
    }
    let session = Subject::Session(session_id.clone());
    limiter.hit(&session, Action::Token).await?;
    let claims = WidgetClaims::new(&session_id, &origin, now_s(), MAX_TOKEN_LIFETIME_S);
    let token = token::sign(&claims, config.token_signing_key.expose().as_bytes())
        .map_err(|e| Error::Config(format!("token signing: {e}")))?;
    let response = TokenResponse {
        token,
        session_id,
        expires_at: claims.exp,
    };
    http::json(200, &response)
}

/// The session id and merchant in a client secret the session object itself confirms.
async fn authorize_with_session(
    env: &Env,
    client_secret: String,
) -> Result<(String, Option<String>)> {
    let (session_id, merchant_id) = parse_client_secret(&client_secret)
        .ok_or_else(|| Error::api(ErrorCode::InvalidClientSecret))?;
    // A malformed or unknown session id is the same answer as a wrong secret.
    let stub = objects::session_by_id(env, &session_id)
        .map_err(|_| Error::api(ErrorCode::InvalidClientSecret))?;
    let authorize = SessionCommand::AuthorizeClient { client_secret };
    rpc::call::<_, ()>(&stub, &authorize)
        .await
        .map_err(|e| match e.detail().code {
            ErrorCode::NotFound => Error::api(ErrorCode::InvalidClientSecret),
            _ => e,
        })?;
    Ok((session_id, merchant_id))
}

/// `GET /v1/widget/sessions/{id}`: the shopper's view, with the wallet summary (`balance`,
/// `points`); `?wallet=omit` leaves it out, so the widget's status poll while a payment waits at
/// a provider is one object call (the session's) instead of two (the session's, then the
/// wallet's).
pub async fn session(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let omit_wallet = omits_wallet(req.url()?.query())?;
    let command = SessionCommand::WidgetView { omit_wallet };
    widget_command(req, env, session_id, request_id, command).await
}

/// Whether a widget read's query asks to leave the wallet summary out: `wallet=omit`, the only
/// value `wallet` takes; other parameters are ignored, as before it existed.
fn omits_wallet(query: Option<&str>) -> Result<bool> {
    let mut omit = false;
    for pair in query.unwrap_or_default().split('&') {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("wallet", "omit") => omit = true,
            ("wallet", _) => {
                return Err(Error::api_with(
                    ErrorCode::InvalidParameter,
                    "wallet: only `omit` (leave the balance and points out) is accepted",
                ))
            }
            _ => {}
        }
    }
    Ok(omit)
}

/// `POST /v1/widget/sessions/{id}/pay`, with an `Idempotency-Key` the widget chose. Counted per
/// session and per client address (coarse, the rate-limiting binding); wrong pay passwords are
/// counted per client address too (exact, the address's `RateLimiter`), on top of each wallet's
/// own lockout, so one address cannot try passwords across many wallets. The three checks run
/// at once; a reserved slot is given back after the reply.
pub async fn pay(
    mut req: Request,
    env: &Env,
    ctx: &Context,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    auth::widget(&req, &config, session_id, now_s())?;
    let limiter = Limiter::new(env, request_id)?;
    let client = Subject::client(&req)?;
    let session = Subject::Session(session_id.to_owned());
    let idempotency_key = req.headers().get("Idempotency-Key")?.unwrap_or_default();
    api::check_idempotency_key(&idempotency_key)?;
    let request: PayRequest = http::read_json(&mut req).await?;
    let (origin, own) = (http::caller_origin(&req)?, http::own_origin(&req)?);
    if !password_origin_allowed(request.pay_password.is_some(), &origin, &own) {
        return Err(Error::api(ErrorCode::PayPasswordOutsideFrame));
    }
    // A wrong password is counted before it is checked (a slot taken in the limiter's turn), so
    // parallel guesses cannot pass the limit; the slot is given back unless it was wrong.
    let reserve = async {
        match request.pay_password {
            Some(_) => limiter.reserve(&client, Action::WrongPassword).await,
            None => Ok(None),
        }
    };
    let (per_session, per_address, reservation) = futures_util::future::join3(
        limiter.hit(&session, Action::Pay),
        limiter.hit(&client, Action::Pay),
        reserve,
    )
    .await;
    let reservation = reservation?;
    if let Err(refused) = per_session.and(per_address) {
        if let Some(reservation) = reservation {
            ctx.wait_until(rate_limit::release(
                env.clone(),
                request_id.to_owned(),
                reservation,
            ));
        }
        return Err(refused);
    }
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::Pay {
        idempotency_key,
        method: request.method,
        pay_password: request.pay_password,
        callback_url: super::callbacks::callback_url(&req, env, request.method, session_id)?,
        allocation: request.allocation,
        notify_url: super::callbacks::notify_url(&req, env, session_id)?,
        wechat_flow: request.wechat_flow,
        client_ip: req.headers().get("CF-Connecting-IP")?,
    };
    let result: Result<WidgetSession> = rpc::call_for(&stub, &command, Some(request_id)).await;
    if let Some(reservation) = reservation {
        if !counts_as_wrong_password(&result) {
            ctx.wait_until(rate_limit::release(
                env.clone(),
                request_id.to_owned(),
                reservation,
            ));
        }
    }
    http::json(200, &result?)
}

/// Whether a pay answer keeps its wrong-password slot: a wrong password (also the one that
/// locks the wallet), and an answer that never came (the password may have been checked).
fn counts_as_wrong_password(result: &Result<WidgetSession>) -> bool {
    match result {
        Ok(_) => false,
        Err(Error::Api(detail)) => matches!(
            detail.code,
            ErrorCode::IncorrectPayPassword | ErrorCode::PayPasswordLocked
        ),
        Err(_) => true,
    }
}

/// A pay password is typed only into the pay-password frame (`handlers::frame`), on the Worker's
/// own origin, so it never exists in a merchant's page: a request that carries one from any other
/// origin is refused before anything else looks at it.
fn password_origin_allowed(has_password: bool, origin: &str, own: &str) -> bool {
    !has_password || origin == own
}

/// The session id and, for secrets made since origins are checked, the merchant id in a client
/// secret: `{session_id}_secret_{merchant_id}.{random}`.
fn parse_client_secret(secret: &str) -> Option<(String, Option<String>)> {
    let (session_id, tail) = secret.split_once("_secret_")?;
    let merchant_id = tail
        .rsplit_once('.')
        .map(|(merchant, _)| merchant.to_owned());
    Some((session_id.to_owned(), merchant_id))
}

/// A page may open a session's widget from the Worker's own origin, or from an origin on the
/// session merchant's list. A secret from before merchants were named in it is checked against
/// every merchant's list; such sessions are gone a day after the upgrade.
fn origin_allowed(config: &Config, merchant_id: Option<&str>, origin: &str, own: &str) -> bool {
    if origin == own {
        return true;
    }
    match merchant_id {
        Some(id) => config.merchant(id).is_some_and(|m| m.allows_origin(origin)),
        None => config.any_merchant_allows(origin),
    }
}

/// `POST /v1/widget/sessions/{id}/cancel`: the shopper gives up on the payment under way (a QR
/// code not scanned, a pay sheet dismissed). The provider closes it first, so it cannot be paid
/// afterwards.
pub async fn cancel(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    widget_command(
        req,
        env,
        session_id,
        request_id,
        SessionCommand::CancelPayment,
    )
    .await
}

/// Checks the widget token, then answers with the session's view after `command`.
async fn widget_command(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
    command: SessionCommand,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    auth::widget(&req, &config, session_id, now_s())?;
    let stub = objects::session_by_id(env, session_id)?;
    // The object's JSON goes out as it came (a `WidgetSession`), not parsed and written again.
    let view = rpc::call_raw(&stub, &command, Some(request_id)).await?;
    http::json_text(200, view)
}

#[cfg(test)]
mod tests {
    use super::{omits_wallet, password_origin_allowed};
    use checkout_core::ErrorCode;

    #[test]
    fn only_wallet_omit_leaves_the_wallet_out() {
        assert!(!omits_wallet(None).unwrap());
        assert!(!omits_wallet(Some("")).unwrap());
        assert!(!omits_wallet(Some("x=1")).unwrap());
        assert!(omits_wallet(Some("wallet=omit")).unwrap());
        assert!(omits_wallet(Some("x=1&wallet=omit")).unwrap());
        let refused = omits_wallet(Some("wallet=yes")).unwrap_err();
        assert_eq!(refused.detail().code, ErrorCode::InvalidParameter);
    }

    const OWN: &str = "https://checkout.example";

    #[test]
    fn a_pay_password_is_taken_only_from_the_own_origin() {
        assert!(password_origin_allowed(true, OWN, OWN));
        assert!(!password_origin_allowed(true, "https://shop.example", OWN));
        assert!(password_origin_allowed(false, "https://shop.example", OWN));
    }
}
