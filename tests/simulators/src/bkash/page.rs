//! The hosted payment page at `{origin}/checkout?paymentID=...`: bKash's wallet flow (account
//! number, verification code, PIN, then Confirm or Close) as one self-contained HTML form.
//!
//! Confirm with a sandbox wallet, OTP [`SANDBOX_OTP`] and PIN [`SANDBOX_PIN`] authorizes the
//! payment and redirects (303) to `callbackURL?paymentID=..&status=success&signature=..&apiVersion=1.2.0-beta`;
//! a wallet with too little balance redirects with `status=failure`; Close with `status=cancel`.
//! A wrong number, code or PIN shows the error on the page and lets the shopper try again.

use super::state::{Payment, PaymentState};
use super::wire::format_amount;
use super::{Shared, SANDBOX_OTP, SANDBOX_PIN, SANDBOX_WALLETS};
use crate::common::html::{escape, Frame};
use crate::http::{Request, Response};
use crate::util::form_value;

/// Serves `GET` and `POST /checkout`.
pub(super) fn handle(shared: &Shared, request: &Request) -> Response {
    match request.method.as_str() {
        "GET" => {
            let id = request.query_param("paymentID").unwrap_or_default();
            show(shared, &id, "", None)
        }
        "POST" => submit(shared, &request.body_text()),
        _ => Response::empty(405),
    }
}

/// The page for payment `id`, with the wallet number typed so far and an optional error.
fn show(shared: &Shared, id: &str, wallet: &str, error: Option<&str>) -> Response {
    let state = shared.lock();
    let Some(payment) = state.payments.get(id) else {
        return Response::html(
            404,
            page("Payment not found", &notice("This payment does not exist.")),
        );
    };
    let body = match payment.state {
        PaymentState::Initiated => form(payment, wallet, error),
        other => notice(&format!(
            "This payment is {} and no longer waits for you.",
            other.as_str().to_lowercase()
        )),
    };
    Response::html(200, page("bKash Payment", &body))
}

fn submit(shared: &Shared, form: &str) -> Response {
    let field = |name: &str| form_value(form, name).unwrap_or_default().trim().to_owned();
    let (id, wallet) = (field("paymentID"), field("wallet"));
    let outcome = if field("action") == "cancel" {
        shared.lock().cancel(&id).map_err(|e| e.to_string())
    } else {
        check_credentials(shared, &wallet, &field("otp"), &field("pin")).and_then(|()| {
            shared
                .lock()
                .approve(&id, &wallet)
                .map_err(|e| e.to_string())
        })
    };
    match outcome {
        Ok(callback) => Response::see_other(&callback),
        Err(message) => show(shared, &id, &wallet, Some(&message)),
    }
}

/// The wallet, then the code sent to it, then its PIN, in the order bKash asks for them.
fn check_credentials(shared: &Shared, wallet: &str, otp: &str, pin: &str) -> Result<(), String> {
    let well_formed = wallet.len() == 11
        && wallet.starts_with("01")
        && wallet.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err("Enter your 11-digit bKash account number (01XXXXXXXXX).".into());
    }
    if !shared.lock().wallets.contains_key(wallet) {
        return Err("This number is not a bKash account.".into());
    }
    if otp != SANDBOX_OTP {
        return Err("Wrong verification code. Please try again.".into());
    }
    if pin != SANDBOX_PIN {
        return Err("Wrong PIN. Please try again.".into());
    }
    Ok(())
}

/// `1,250.00`: grouped for reading (the Taka sign is left out: not every phone has the glyph).
fn display_amount(paisa: i64) -> String {
    let plain = format_amount(paisa);
    let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped}.{fraction}")
}

fn notice(message: &str) -> String {
    format!(
        r#"<p class="notice" data-testid="notice">{}</p>"#,
        escape(message)
    )
}

fn form(payment: &Payment, wallet: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<p class="error" role="alert" data-testid="error">{}</p>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let wallets: Vec<String> = SANDBOX_WALLETS
        .iter()
        .map(|(w, balance)| format!("{w} (BDT {})", display_amount(*balance)))
        .collect();
    format!(
        r#"<section class="merchant">
  <div><span class="label">Invoice</span><span data-testid="invoice">{invoice}</span></div>
  <div class="amount" data-testid="amount">BDT {amount}</div>
</section>
{error}
<form method="post" action="checkout" autocomplete="off">
  <input type="hidden" name="paymentID" value="{id}">
  <label for="wallet">Your bKash account number</label>
  <input id="wallet" name="wallet" data-testid="wallet-number" inputmode="numeric" maxlength="11"
         placeholder="e.g 01XXXXXXXXX" value="{wallet}" required>
  <label for="otp">Verification code</label>
  <input id="otp" name="otp" data-testid="otp" inputmode="numeric" maxlength="6"
         placeholder="6-digit code sent to your number" required>
  <label for="pin">bKash PIN</label>
  <input id="pin" name="pin" data-testid="pin" type="password" inputmode="numeric" maxlength="5"
         placeholder="Enter PIN" required>
  <p class="terms">By clicking Confirm you agree to the terms &amp; conditions.</p>
  <div class="actions">
    <button type="submit" name="action" value="confirm" data-testid="confirm">Confirm</button>
    <button type="submit" name="action" value="cancel" data-testid="cancel" class="secondary"
            formnovalidate>Close</button>
  </div>
</form>
<aside class="hint" data-testid="sandbox-hint">Sandbox wallets: {wallets}. Code {otp}, PIN {pin}.</aside>"#,
        invoice = escape(&payment.invoice),
        amount = display_amount(payment.amount),
        id = escape(&payment.id),
        wallet = escape(wallet),
        wallets = wallets.join(", "),
        otp = SANDBOX_OTP,
        pin = SANDBOX_PIN,
    )
}

/// The page frame: bKash pink, no external assets, laid out for phones first (375 px).
fn page(title: &str, body: &str) -> String {
    Frame {
        title,
        style: STYLE,
        logo: "bKash",
        badge: "Sandbox simulator",
        footer: "<footer>Helpline 16247</footer>\n",
    }
    .page(body)
}

/// bKash pink on white; a single column that fits a 375 px phone.
const STYLE: &str = r#"  :root { --pink: #e2136e; --dark: #b50e57; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: #f4f4f6; color: #222; }
  main { max-width: 420px; margin: 0 auto; min-height: 100vh; background: #fff;
          box-shadow: 0 0 24px rgba(0,0,0,.08); }
  header { background: var(--pink); color: #fff; padding: 18px 20px; display: flex;
            align-items: center; justify-content: space-between; }
  .logo { font-size: 26px; font-weight: 800; letter-spacing: -.5px; }
  .logo::before { content: "\25C6"; margin-right: 8px; font-size: 20px; }
  .sandbox { font-size: 12px; background: rgba(255,255,255,.2); padding: 3px 8px;
              border-radius: 10px; }
  .content { padding: 20px; }
  .merchant { display: flex; justify-content: space-between; align-items: center;
               border-bottom: 1px solid #eee; padding-bottom: 14px; margin-bottom: 16px; }
  .label { display: block; font-size: 12px; color: #777; }
  .amount { font-size: 24px; font-weight: 700; color: var(--pink); }
  label { display: block; font-size: 14px; margin: 14px 0 6px; color: #444; }
  input { width: 100%; font-size: 18px; padding: 12px; border: 1px solid #ccc; border-radius: 8px;
           letter-spacing: 1px; }
  input:focus { outline: 2px solid var(--pink); border-color: var(--pink); }
  .terms { font-size: 12px; color: #777; margin: 16px 0; }
  .actions { display: flex; flex-direction: row-reverse; gap: 12px; }
  button { flex: 1; font-size: 16px; font-weight: 600; padding: 14px; border-radius: 8px;
            border: 0; background: var(--pink); color: #fff; cursor: pointer; }
  button:hover { background: var(--dark); }
  button.secondary { background: #fff; color: var(--pink); border: 1px solid var(--pink); }
  .error { background: #fdecf3; color: var(--dark); border-left: 4px solid var(--pink);
            padding: 10px 12px; border-radius: 4px; }
  .notice { font-size: 16px; text-align: center; padding: 24px 0; }
  .hint { margin-top: 20px; font-size: 12px; color: #666; background: #f7f7f9; padding: 10px;
           border-radius: 6px; line-height: 1.5; }
  footer { text-align: center; font-size: 13px; color: #999; padding: 16px; }
"#;
