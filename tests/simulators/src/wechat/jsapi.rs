//! The JSAPI pay sheet, emulated for a browser outside WeChat ("JSAPI调起支付", 4012791857):
//!
//! - `GET /__sim/jsbridge.js` defines `window.WeixinJSBridge.invoke(name, params, callback)` and
//!   fires `WeixinJSBridgeReady` on `document`, as WeChat's in-app browser does. For
//!   `getBrandWCPayRequest` it POSTs `params` to `/__sim/jsapi/pay` and calls back with
//!   `{err_msg: "get_brand_wcpay_request:ok" | ":fail" | ":cancel"}`.
//! - `POST /__sim/jsapi/pay` (CORS open) checks what WeChat checks: `appId` is the merchant's,
//!   `package` is `prepay_id=<a JSAPI order's prepay id>`, `signType` is `RSA`, `timeStamp` is
//!   within 5 minutes, and `paySign` is the merchant key's SHA256withRSA over
//!   `appId\ntimeStamp\nnonceStr\npackage\n`. Then the shopper pays (or, under the
//!   `jsapi_cancel` fault, closes the sheet). A refusal is 400 with `:fail` and a `reason`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::crypto::{pay_sign_message, verify_with};
use super::state::TradeType;
use super::{now_s, Shared};
use crate::http::{Request, Response};

const MAX_SKEW_S: i64 = 300;

pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Response {
    let mut response = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/__sim/jsbridge.js") => Response {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/javascript; charset=utf-8".into(),
            )],
            body: bridge_js(&shared.origin).into_bytes(),
        },
        ("OPTIONS", _) => {
            let mut preflight = Response::empty(204);
            preflight.headers.extend([
                (
                    "Access-Control-Allow-Methods".into(),
                    "POST, OPTIONS".into(),
                ),
                ("Access-Control-Allow-Headers".into(), "Content-Type".into()),
                ("Access-Control-Max-Age".into(), "600".into()),
            ]);
            preflight
        }
        ("POST", "/__sim/jsapi/pay") => pay_answer(shared, &request.body),
        _ => Response::empty(405),
    };
    response
        .headers
        .push(("Access-Control-Allow-Origin".into(), "*".into()));
    response
}

fn pay_answer(shared: &Arc<Shared>, body: &[u8]) -> Response {
    let params: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if shared.lock().faults.jsapi_cancel {
        return Response::json(200, &json!({"err_msg": "get_brand_wcpay_request:cancel"}));
    }
    match pay(shared, &params) {
        Ok(()) => Response::json(200, &json!({"err_msg": "get_brand_wcpay_request:ok"})),
        Err(reason) => Response::json(
            400,
            &json!({"err_msg": "get_brand_wcpay_request:fail", "reason": reason}),
        ),
    }
}

/// Checks `getBrandWCPayRequest` parameters, then pays the order.
pub(super) fn pay(shared: &Arc<Shared>, params: &Value) -> Result<(), String> {
    let text = |name: &str| {
        params[name]
            .as_str()
            .ok_or_else(|| format!("{name} is missing or not a string"))
    };
    let (app_id, time_stamp, nonce_str) = (text("appId")?, text("timeStamp")?, text("nonceStr")?);
    let (package, sign_type, pay_sign) = (text("package")?, text("signType")?, text("paySign")?);
    if app_id != shared.config.appid {
        return Err(format!("appId {app_id} is not the merchant's"));
    }
    if sign_type != "RSA" {
        return Err(format!("signType must be RSA, not {sign_type}"));
    }
    let prepay_id = package
        .strip_prefix("prepay_id=")
        .ok_or("package must be prepay_id=...")?;
    let no = {
        let state = shared.lock();
        let order = state
            .order_by_key(prepay_id)
            .filter(|o| o.trade_type == TradeType::Jsapi && o.prepay_id == prepay_id)
            .ok_or_else(|| format!("no JSAPI order has prepay_id {prepay_id}"))?;
        order.out_trade_no.clone()
    };
    let ts: i64 = time_stamp
        .parse()
        .map_err(|_| "timeStamp is not Unix seconds".to_owned())?;
    if (now_s() - ts).abs() > MAX_SKEW_S {
        return Err("timeStamp is more than 5 minutes away".into());
    }
    let message = pay_sign_message(app_id, time_stamp, nonce_str, package);
    if !verify_with(&shared.keys.merchant, &message, pay_sign) {
        return Err("paySign does not verify with the merchant key".into());
    }
    super::approve(shared, &no).map_err(|e| e.to_string())
}

fn bridge_js(origin: &str) -> String {
    let origin = serde_json::to_string(origin).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"// WeChat Pay simulator: WeixinJSBridge for getBrandWCPayRequest outside WeChat.
(function () {{
  var origin = {origin};
  function invoke(name, params, callback) {{
    var done = typeof callback === "function" ? callback : function () {{}};
    if (name !== "getBrandWCPayRequest") {{
      done({{ err_msg: name + ":fail", reason: "not emulated" }});
      return;
    }}
    fetch(origin + "/__sim/jsapi/pay", {{
      method: "POST",
      headers: {{ "Content-Type": "application/json" }},
      body: JSON.stringify(params || {{}})
    }}).then(function (r) {{ return r.json(); }})
      .then(function (answer) {{ done(answer); }})
      .catch(function (e) {{ done({{ err_msg: "get_brand_wcpay_request:fail", reason: String(e) }}); }});
  }}
  window.WeixinJSBridge = {{ invoke: invoke }};
  var ready = document.createEvent("Event");
  ready.initEvent("WeixinJSBridgeReady", true, true);
  document.dispatchEvent(ready);
}})();
"#
    )
}
