//! The shopper's phone, as plain server-rendered forms (they work with JavaScript off):
//!
//! - `GET /scan?code_url=<urlencoded weixin://wxpay/bizpayurl?pr=...>`: what WeChat shows after
//!   scanning a Native QR code.
//! - `GET /h5pay?prepay_id=..&package=..&redirect_url=..`: where an H5 `h5_url` leads (the real
//!   one is `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=..&package=..`, and
//!   the merchant appends `&redirect_url=`).
//!
//! Both show the merchant, the description and the amount (`¥12.34`) with three buttons: Pay
//! (`id="approve"`: SUCCESS and the notification), Fail (`id="fail"`: PAYERROR) and Cancel
//! (`id="cancel"`: stays NOTPAY; the shopper may come back). The scan page then shows the outcome
//! in `id="result"` ("Paid", "Payment failed", "Canceled"); the H5 page sends the shopper to
//! `redirect_url` with a 303 whatever happened, as WeChat does, or shows the outcome without one.
//! A paid, failed, closed or expired order is explained, with no Pay button.

use std::sync::Arc;

use super::state::{ApproveError, Order, TradeType};
use super::wire::display_yuan;
use super::{now_s, Shared};
use crate::common::html::{escape, notice, Frame};
use crate::http::{Request, Response};
use crate::util::form_value;

/// Serves `GET` and `POST` `/scan` and `/h5pay`.
pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Response {
    let h5 = request.path == "/h5pay";
    match request.method.as_str() {
        "GET" => {
            let key_name = if h5 { "prepay_id" } else { "code_url" };
            let key = request.query_param(key_name).unwrap_or_default();
            let redirect = request.query_param("redirect_url").unwrap_or_default();
            show(shared, h5, &key, &redirect)
        }
        "POST" => submit(shared, h5, &request.body_text()),
        _ => Response::empty(405),
    }
}

/// The order behind a code URL (scan) or prepay id (H5), if it is of that product.
fn find(shared: &Shared, h5: bool, key: &str) -> Option<Order> {
    let state = shared.lock();
    let order = state.order_by_key(key)?;
    let matches = if h5 {
        order.trade_type == TradeType::H5 && order.prepay_id == key
    } else {
        order.code_url.as_deref() == Some(key)
    };
    matches.then(|| order.clone())
}

fn show(shared: &Shared, h5: bool, key: &str, redirect: &str) -> Response {
    let Some(order) = find(shared, h5, key) else {
        return Response::html(404, page(&notice("This payment code is not valid.")));
    };
    let payable = shared.lock().check_payable(&order.out_trade_no, now_s());
    let body = match payable {
        Ok(()) => form(&order, h5, key, redirect),
        Err(reason) => format!("{}{}", summary(&order), explain(&reason)),
    };
    Response::html(200, page(&body))
}

fn submit(shared: &Arc<Shared>, h5: bool, form: &str) -> Response {
    let field = |name: &str| form_value(form, name).unwrap_or_default();
    let (key, redirect) = (field("key"), field("redirect_url"));
    let Some(order) = find(shared, h5, &key) else {
        return Response::html(404, page(&notice("This payment code is not valid.")));
    };
    let no = order.out_trade_no.as_str();
    let outcome = match field("action").as_str() {
        "approve" => super::approve(shared, no).map(|()| "Paid"),
        "fail" => shared.fail(no).map(|()| "Payment failed"),
        _ => Ok("Canceled"),
    };
    if h5 && !redirect.is_empty() {
        return Response::see_other(&redirect);
    }
    let body = match outcome {
        Ok(result) => format!(
            r#"{}<p class="result" id="result" data-testid="result">{result}</p>"#,
            summary(&order)
        ),
        Err(reason) => format!("{}{}", summary(&order), explain(&reason)),
    };
    Response::html(200, page(&body))
}

fn explain(reason: &ApproveError) -> String {
    let text = match reason {
        ApproveError::AlreadyPaid => "This order has already been paid.",
        ApproveError::Closed => "The merchant closed this order. It can no longer be paid.",
        ApproveError::Expired => "This order has expired. It can no longer be paid.",
        ApproveError::Failed => {
            "The payment for this order failed. Ask the merchant to start again."
        }
        ApproveError::UnknownOrder => "This payment code is not valid.",
    };
    notice(text)
}

fn summary(order: &Order) -> String {
    format!(
        r#"<section class="merchant">
  <div class="payee" data-testid="merchant">WeChat Pay simulator</div>
  <div class="description" data-testid="description">{description}</div>
  <div class="amount" id="amount" data-testid="amount">{amount}</div>
</section>
"#,
        description = escape(&order.description),
        amount = display_yuan(order.total),
    )
}

fn form(order: &Order, h5: bool, key: &str, redirect: &str) -> String {
    format!(
        r#"{summary}<form method="post" action="{action}">
  <input type="hidden" name="key" value="{key}">
  <input type="hidden" name="redirect_url" value="{redirect}">
  <button type="submit" name="action" value="approve" id="approve" data-testid="approve">Pay</button>
  <button type="submit" name="action" value="fail" id="fail" data-testid="fail" class="secondary">Fail (insufficient funds)</button>
  <button type="submit" name="action" value="cancel" id="cancel" data-testid="cancel" class="secondary">Cancel</button>
</form>
<aside class="hint">Simulated phone: Pay succeeds, Fail ends the payment with PAYERROR, Cancel leaves it unpaid.</aside>"#,
        summary = summary(order),
        action = if h5 { "h5pay" } else { "scan" },
        key = escape(key),
        redirect = escape(redirect),
    )
}

/// The page frame: WeChat green, no external assets, laid out for phones first.
fn page(body: &str) -> String {
    Frame {
        title: "WeChat Pay",
        style: STYLE,
        logo: "WeChat Pay",
        badge: "Simulator",
        footer: "",
    }
    .page(body)
}

const STYLE: &str = r#"  :root { --green: #07c160; --dark: #06ad56; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: #ededed; color: #111; }
  main { max-width: 420px; margin: 0 auto; min-height: 100vh; background: #fff; }
  header { background: var(--green); color: #fff; padding: 16px 20px; display: flex;
           align-items: center; justify-content: space-between; }
  .logo { font-size: 22px; font-weight: 700; }
  .sandbox { font-size: 12px; background: rgba(255,255,255,.2); padding: 3px 8px; border-radius: 10px; }
  .content { padding: 24px 20px; text-align: center; }
  .payee { font-size: 15px; color: #555; }
  .description { font-size: 14px; color: #888; margin-top: 4px; }
  .amount { font-size: 40px; font-weight: 600; margin: 18px 0 26px; }
  form { display: flex; flex-direction: column; gap: 12px; }
  button { font-size: 17px; font-weight: 600; padding: 14px; border-radius: 8px; border: 0;
           background: var(--green); color: #fff; cursor: pointer; }
  button:hover { background: var(--dark); }
  button.secondary { background: #f2f2f2; color: #333; }
  .result { font-size: 22px; font-weight: 600; color: var(--dark); }
  .notice { font-size: 16px; color: #555; padding: 16px 0; }
  .hint { margin-top: 20px; font-size: 12px; color: #888; }
"#;
