//! The hosted payment page at a session's `url` (`/c/pay/{session}`), as plain server-rendered
//! HTML with no script: the card can only travel in the form's POST back to this page.
//!
//! The form's fields carry the ids and names Stripe Checkout's own page uses, so a browser test
//! reads the same against both:
//! - `email` (optional), `cardNumber` (spaces allowed), `cardExpiry` (`MM / YY`, `MM/YY` or
//!   `MMYY`), `cardCvc`, `billingName` (cardholder name, optional);
//! - the submit button `id="submit"` / `data-testid="hosted-payment-submit-button"`;
//! - problems in `id="card-errors"` (`role="alert"`, `data-testid="card-errors"`);
//! - the cancel link `id="cancel"` / `data-testid="cancel-link"` to `cancel_url` (shown only when
//!   the session has one).
//!
//! A valid card that pays sends the shopper to `success_url` (303, `{CHECKOUT_SESSION_ID}`
//! replaced). A decline shows Stripe's message, answered 402, and the form again: the session stays
//! open and the shopper can retry, as on Stripe Checkout. A 3-D Secure card leads to
//! `/c/pay/{session}/3ds`, the test challenge, with `id="test-source-authorize-3ds"` (Complete)
//! and `id="test-source-fail-3ds"` (Fail), the ids of Stripe's own 3-D Secure test page. A failed
//! challenge comes back to the form with the authentication error.
//!
//! The answers carry a `Content-Security-Policy` allowing no script and form posts only to this
//! origin and the session's success and cancel origins (the redirect after the post).

use std::sync::Arc;

use super::cards;
use super::control::{self, PayRequest};
use super::state::{Attempt, PiStatus, Session, SessionStatus};
use super::Shared;
use crate::common::html::{escape, notice, Frame};
use crate::http::{Request, Response};
use crate::util::form_value;

/// Serves `/c/pay/{id}` and `/c/pay/{id}/3ds`.
pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Response {
    let rest = request.path.trim_start_matches("/c/pay/");
    let (id, challenge) = match rest.strip_suffix("/3ds") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let Some(session) = shared.lock().sessions.get(id).cloned() else {
        return Response::html(
            404,
            page(&notice("This payment page does not exist."), None),
        );
    };
    let response = match (request.method.as_str(), challenge) {
        ("GET", false) => show(shared, &session, None, 200),
        ("POST", false) => submit(shared, &session, &request.body_text()),
        ("GET", true) => show_challenge(shared, &session),
        ("POST", true) => submit_challenge(shared, &session, &request.body_text()),
        _ => Response::empty(405),
    };
    secure(response, &session)
}

fn secure(mut response: Response, session: &Session) -> Response {
    let mut form_action = vec!["'self'".to_owned()];
    for url in std::iter::once(&session.success_url).chain(session.cancel_url.iter()) {
        if let Some(origin) = origin_of(url) {
            form_action.push(origin);
        }
    }
    response.headers.push((
        "Content-Security-Policy".into(),
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             frame-ancestors 'none'; form-action {}",
            form_action.join(" ")
        ),
    ));
    response
        .headers
        .push(("Referrer-Policy".into(), "no-referrer".into()));
    response
}

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

/// The page for the session as it is now: the form while open, else what happened.
fn show(shared: &Shared, session: &Session, error: Option<&str>, status: u16) -> Response {
    let now = super::now_s();
    if session.status == SessionStatus::Expired || session.expires_at <= now {
        return Response::html(
            410,
            page(
                &format!(
                    "{}{}",
                    summary(session),
                    notice("This checkout session has expired.")
                ),
                None,
            ),
        );
    }
    if session.status == SessionStatus::Complete {
        let body = format!(
            "{}{}",
            summary(session),
            r#"<p class="result" id="result" data-testid="result">This payment is complete.</p>"#
        );
        return Response::html(200, page(&body, None));
    }
    let pending_challenge = session
        .payment_intent
        .as_ref()
        .and_then(|id| shared.lock().intents.get(id).map(|pi| pi.status))
        == Some(PiStatus::RequiresAction);
    if pending_challenge && error.is_none() {
        return Response::see_other(&format!("/c/pay/{}/3ds", session.id));
    }
    Response::html(
        status,
        page(&form(session, error), session.cancel_url.as_deref()),
    )
}

fn submit(shared: &Arc<Shared>, session: &Session, body: &str) -> Response {
    let field = |name: &str| form_value(body, name).unwrap_or_default();
    let today = crate::util::Civil::from_unix_millis(crate::util::unix_millis(), 0);
    let checked = cards::check(
        &field("cardNumber"),
        &field("cardExpiry"),
        field("cardCvc").trim(),
        today.year as u32,
        today.month,
    );
    if let Err(message) = checked {
        return show(shared, session, Some(message), 400);
    }
    if session.status == SessionStatus::Open {
        let email = field("email");
        if !email.is_empty() {
            if let Some(s) = shared.lock().sessions.get_mut(&session.id) {
                s.customer_email = Some(email);
            }
        }
    }
    let request = PayRequest {
        card: field("cardNumber"),
        exp: field("cardExpiry"),
        cvc: field("cardCvc").trim().to_owned(),
        name: field("billingName"),
        ..PayRequest::default()
    };
    match control::pay(shared, &session.id, &request) {
        Ok(answer) => outcome(shared, &session.id, &answer),
        Err(_) => refresh(shared, &session.id),
    }
}

/// Where the page goes after an attempt.
fn outcome(shared: &Shared, session_id: &str, answer: &serde_json::Value) -> Response {
    match answer["outcome"].as_str() {
        Some("completed") => Response::see_other(answer["redirect"].as_str().unwrap_or("/")),
        Some("challenge") => Response::see_other(&format!("/c/pay/{session_id}/3ds")),
        _ => {
            let message = answer["error"]["message"]
                .as_str()
                .unwrap_or("Your card has been declined.");
            let session = shared.lock().sessions.get(session_id).cloned();
            match session {
                Some(session) => show(shared, &session, Some(message), 402),
                None => Response::empty(404),
            }
        }
    }
}

fn refresh(shared: &Shared, session_id: &str) -> Response {
    let session = shared.lock().sessions.get(session_id).cloned();
    match session {
        Some(session) => show(shared, &session, None, 409),
        None => Response::empty(404),
    }
}

fn show_challenge(shared: &Shared, session: &Session) -> Response {
    let pending = session
        .payment_intent
        .as_ref()
        .and_then(|id| shared.lock().intents.get(id).map(|pi| pi.status))
        == Some(PiStatus::RequiresAction);
    if !pending || session.status != SessionStatus::Open {
        return Response::see_other(&format!("/c/pay/{}", session.id));
    }
    let body = format!(
        r#"{summary}<section class="challenge" aria-labelledby="challenge-title">
  <h1 id="challenge-title">3D Secure 2 Test Page</h1>
  <p>Your bank asks you to confirm this payment. This is a test page: choose an outcome.</p>
  <form method="post" action="/c/pay/{id}/3ds">
    <button type="submit" name="action" value="complete" id="test-source-authorize-3ds" data-testid="authorize-3ds">Complete authentication</button>
    <button type="submit" name="action" value="fail" id="test-source-fail-3ds" data-testid="fail-3ds" class="secondary">Fail authentication</button>
  </form>
</section>"#,
        summary = summary(session),
        id = escape(&session.id),
    );
    Response::html(200, page(&body, None))
}

fn submit_challenge(shared: &Arc<Shared>, session: &Session, body: &str) -> Response {
    let passed = form_value(body, "action").as_deref() == Some("complete");
    match control::challenge(shared, &session.id, passed) {
        Ok(Attempt::Completed(url)) => Response::see_other(&url),
        Ok(Attempt::Declined(e)) => {
            let session = shared.lock().sessions.get(&session.id).cloned();
            match session {
                Some(session) => show(shared, &session, Some(e.message), 402),
                None => Response::empty(404),
            }
        }
        Ok(Attempt::Challenge) | Err(_) => refresh(shared, &session.id),
    }
}

/// Minor units as the page shows them: `BDT 1,234.50`, `JPY 500` (zero-decimal currencies).
pub fn display_amount(amount: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    let code = currency.to_ascii_uppercase();
    let group = |n: i64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    if ZERO_DECIMAL.contains(&currency) {
        format!("{code} {}", group(amount))
    } else {
        format!("{code} {}.{:02}", group(amount / 100), amount % 100)
    }
}

fn summary(session: &Session) -> String {
    let items: String = session
        .line_items
        .iter()
        .map(|i| format!("<li>{} × {}</li>", escape(&i.name), i.quantity))
        .collect();
    format!(
        r#"<section class="summary">
  <ul class="items" data-testid="line-items">{items}</ul>
  <div class="amount" id="amount" data-testid="amount">{amount}</div>
</section>
"#,
        amount = display_amount(session.amount_total, &session.currency),
    )
}

fn form(session: &Session, error: Option<&str>) -> String {
    let error_html = error.map(escape).unwrap_or_default();
    let email = escape(session.customer_email.as_deref().unwrap_or(""));
    format!(
        r#"{summary}<form method="post" action="/c/pay/{id}" autocomplete="on">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="email" value="{email}">
  <fieldset>
    <legend>Card information</legend>
    <label for="cardNumber">Card number</label>
    <input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234" required aria-describedby="card-errors">
    <div class="row">
      <div><label for="cardExpiry">Expiry (MM / YY)</label>
      <input id="cardExpiry" name="cardExpiry" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY" required></div>
      <div><label for="cardCvc">CVC</label>
      <input id="cardCvc" name="cardCvc" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC" required></div>
    </div>
  </fieldset>
  <label for="billingName">Cardholder name</label>
  <input id="billingName" name="billingName" autocomplete="cc-name" placeholder="Full name on card">
  <div id="card-errors" class="error" role="alert" data-testid="card-errors">{error_html}</div>
  <button type="submit" id="submit" data-testid="hosted-payment-submit-button">Pay {amount}</button>
</form>
<aside class="hint">Test mode: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0025 0000 3155 asks for 3-D Secure. Any future date, any CVC.</aside>"#,
        summary = summary(session),
        id = escape(&session.id),
        amount = display_amount(session.amount_total, &session.currency),
    )
}

/// The page frame; `cancel_url` adds the back link.
fn page(body: &str, cancel_url: Option<&str>) -> String {
    let cancel = cancel_url
        .map(|url| {
            format!(
                r#"<a class="cancel" id="cancel" data-testid="cancel-link" href="{}">← Cancel and go back</a>"#,
                escape(url)
            )
        })
        .unwrap_or_default();
    Frame {
        title: "Checkout · Stripe simulator",
        style: STYLE,
        logo: "Checkout",
        badge: "Test mode · simulator",
        footer: "",
    }
    .page(&format!("{cancel}\n{body}"))
}

const STYLE: &str = r#"  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: #f6f9fc; color: #1a1f36; }
  main { max-width: 460px; margin: 0 auto; min-height: 100vh; background: #fff; }
  header { background: #635bff; color: #fff; padding: 16px 20px; display: flex;
           align-items: center; justify-content: space-between; }
  .logo { font-size: 20px; font-weight: 700; }
  .sandbox { font-size: 12px; background: #ffde92; color: #5a3e00; padding: 3px 8px; border-radius: 10px; }
  .content { padding: 20px; }
  .items { list-style: none; padding: 0; margin: 0; color: #4f566b; }
  .amount { font-size: 32px; font-weight: 600; margin: 8px 0 20px; }
  form { display: flex; flex-direction: column; gap: 8px; }
  fieldset { border: 0; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 8px; }
  legend { font-weight: 600; margin-bottom: 4px; }
  label { font-size: 14px; color: #4f566b; }
  input { font-size: 16px; padding: 10px 12px; border: 1px solid #cfd7df; border-radius: 6px; width: 100%; }
  input:focus { outline: 2px solid #635bff; outline-offset: 1px; }
  .row { display: flex; gap: 8px; } .row > div { flex: 1; display: flex; flex-direction: column; gap: 8px; }
  .error { color: #df1b41; min-height: 1.2em; font-size: 14px; }
  button { font-size: 16px; font-weight: 600; padding: 12px; border-radius: 6px; border: 0;
           background: #635bff; color: #fff; cursor: pointer; margin-top: 8px; }
  button.secondary { background: #e3e8ee; color: #1a1f36; }
  .cancel { display: inline-block; margin-bottom: 12px; color: #635bff; }
  .result { font-size: 20px; font-weight: 600; color: #0e6245; }
  .notice { font-size: 16px; color: #4f566b; padding: 16px 0; }
  .hint { margin-top: 20px; font-size: 12px; color: #697386; }
"#;
