//! The Worker's log against real flows: a balance payment with a wrong then a right pay password,
//! a bKash payment through the simulator's hosted page, a WeChat Pay payment approved at the
//! simulator and notified back, and a few refusals. Then the captured log (everything wrangler and
//! the Worker printed) is searched for every dev secret, token, client secret, pay password and
//! wallet number the flows used: none may appear. And the Worker's own lines must be one JSON
//! object each, with a level, and a request id on every request line.

mod common;

use std::time::Duration;

use checkout_simulators::bkash::RICH_WALLET;
use checkout_tests::api::{Client, Reply};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{session_body, Rig, ORIGIN, PAY_PASSWORD};
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, temp_dir};
use serde_json::{json, Value};

const WRONG_PASSWORD: &str = "913572";
/// A pay password sent where the log keeps it: in a request path, after its name.
const PATH_PASSWORD: &str = "135791";
const OPENID: &str = "oLogHygiene0Openid00000000042";
/// A credential a caller sends that is no key of ours: not logged either.
const FAKE_KEY: &str = "sk_test_ThisIsNotAKeyButLooksLikeOne00";

#[test]
fn the_log_holds_no_secret_token_password_or_wallet_number_and_is_json_with_request_ids() {
    let vars = DevVars::of_repo();
    let bkash = providers::start_bkash(&vars, 0);
    let wechat = providers::start_wechat(&vars, 0);
    let mut worker_vars = providers::bkash_worker_vars(&bkash);
    worker_vars.extend(providers::wechat_worker_vars(&wechat));
    let options = WorkerOptions {
        vars: worker_vars,
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir("log-hygiene"), options);
    let rig = Rig {
        client: Client::new(&worker.base_url),
        worker,
        vars,
    };
    let mut seen = Seen::default();

    // Store balance: a wrong pay password, then the right one.
    rig.fund("cus_log", "100.00", "seed-log");
    let balance = rig.checkout("order-log-1", "10.00", "cus_log");
    seen.checkout(&balance.client_secret, &balance.token);
    let wrong = rig.pay(&balance, "log-key-0001", WRONG_PASSWORD);
    assert_eq!(wrong.code(), "incorrect_pay_password", "{}", wrong.body);
    seen.reply(&wrong);
    let paid = rig
        .pay(&balance, "log-key-0002", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    seen.reply(&paid);

    // bKash: create, approve on the hosted page with a wallet number, call back.
    let bkash_checkout = open(&rig, "order-log-2", "BDT", "bkash", json!({}));
    seen.checkout(&bkash_checkout.1, &bkash_checkout.2);
    let started = pay(&rig, &bkash_checkout, json!({"method": "bkash"}));
    seen.reply(&started);
    let url = started.body["next_action"]["url"]
        .as_str()
        .expect("bkashURL");
    let payment_id = url.split("paymentID=").nth(1).expect("paymentID");
    let callback = bkash.approve(payment_id, RICH_WALLET).expect("approve");
    let path = callback.strip_prefix(&rig.worker.base_url).expect("to us");
    let back = rig.client.call("GET", path).send();
    assert_eq!(back.status, 303, "{}", back.body);
    seen.reply(&back);
    assert_eq!(merchant_status(&rig, &bkash_checkout.0), "paid");

    // WeChat Pay: a QR payment the simulator approves and notifies, signed and encrypted.
    let extra = json!({ "wechat_openid": OPENID });
    let wechat_checkout = open(&rig, "order-log-3", "CNY", "wechat_pay", extra);
    seen.checkout(&wechat_checkout.1, &wechat_checkout.2);
    let qr = pay(&rig, &wechat_checkout, json!({"method": "wechat_pay"}));
    assert_eq!(qr.body["next_action"]["type"], "qr_code", "{}", qr.body);
    seen.reply(&qr);
    let view = rig.merchant_view(&wechat_checkout.0);
    let out_trade_no = view["payments"][0]["id"].as_str().expect("a payment");
    wechat.approve(out_trade_no).expect("approve");
    assert!(wechat.wait_acknowledged(out_trade_no, Duration::from_secs(15)));
    assert_eq!(merchant_status(&rig, &wechat_checkout.0), "paid");

    // Refusals that carry credentials in the request: a wrong key, a forged token, a bad secret.
    let refusals = [
        rig.client
            .call("GET", "/v1/checkout_sessions/cs_x")
            .bearer(FAKE_KEY)
            .send(),
        common::widget_read(&rig, &balance.id, &format!("{}x", balance.token), ORIGIN),
        common::grant(&rig, Some(ORIGIN), &format!("{}x", balance.client_secret)),
    ];
    for reply in &refusals {
        assert!(reply.status >= 400, "{}", reply.body);
        seen.reply(reply);
    }

    // Secrets in the one field every request line logs, its path: a webhook signing secret, a
    // pay password after its name, and the provider credentials, which have no shape and are
    // masked by value (bKash's app secret and password, WeChat Pay's APIv3 key). wrangler's own
    // access log (`[wrangler:info] GET /path`) prints paths as sent, as any server's access log
    // would; the Worker's lines must not.
    let endpoint = rig.admin(
        "POST",
        "/v1/webhook_endpoints",
        json!({"url": "http://127.0.0.1:9/hooks"}),
    );
    let webhook_secret = endpoint.body["secret"].as_str().expect("a signing secret");
    assert!(webhook_secret.starts_with("whsec_"), "{}", endpoint.body);
    let in_paths = [
        webhook_secret.to_owned(),
        format!("pay_password={PATH_PASSWORD}"),
        format!("pay_password:{PATH_PASSWORD}"),
        rig.vars.bkash.app_secret.clone(),
        rig.vars.bkash.password.clone(),
        rig.vars.wechat.api_v3_key.clone(),
    ];
    for segment in &in_paths {
        let reply = rig
            .client
            .call("GET", format!("/v1/checkout_sessions/{segment}"))
            .bearer(&rig.key())
            .send();
        assert!(reply.status >= 400, "{}", reply.body);
        seen.reply(&reply);
    }
    seen.in_paths.extend(in_paths);
    seen.in_paths
        .push(webhook_secret.trim_start_matches("whsec_").to_owned());

    // Lines reach the file asynchronously: wait for the last request's line.
    let last_id = seen.request_ids.last().cloned().unwrap();
    let log = wait_for_log(&rig.worker, &last_id);
    // wrangler's access lines for the requests that put secrets in their paths echo them (the
    // test sent them there); everything else in the log is searched for every secret.
    let without_echoes: String = log
        .lines()
        .filter(|line| {
            !(line.starts_with("[wrangler:info]")
                && seen.in_paths.iter().any(|s| line.contains(s.as_str())))
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secrets(&without_echoes, &rig.vars, &seen);
    assert_no_secrets_in_worker_lines(&log, &seen);
    assert_json_lines_with_request_ids(&log, &seen);
}

/// What the flows handed out, which the log must not contain, and the request ids it must.
#[derive(Default)]
struct Seen {
    credentials: Vec<String>,
    /// Secrets sent in request paths: absent from the Worker's own lines.
    in_paths: Vec<String>,
    request_ids: Vec<String>,
}

impl Seen {
    fn checkout(&mut self, client_secret: &str, token: &str) {
        self.credentials.push(client_secret.to_owned());
        // The random tail alone, in case a line cut the secret at `_secret_`.
        let tail = client_secret.rsplit('.').next().unwrap_or(client_secret);
        self.credentials.push(tail.to_owned());
        self.credentials.push(token.to_owned());
        let signature = token.rsplit('.').next().unwrap_or(token);
        self.credentials.push(signature.to_owned());
    }

    fn reply(&mut self, reply: &Reply) {
        let id = reply.header("Request-Id").expect("a Request-Id");
        self.request_ids.push(id.to_owned());
    }
}

/// A session for `method` in `currency` and a token for it: (id, client secret, token).
fn open(
    rig: &Rig,
    order: &str,
    currency: &str,
    method: &str,
    extra: Value,
) -> (String, String, String) {
    let mut body = session_body(order, "88.00", "cus_log");
    body["currency"] = json!(currency);
    body["methods"] = json!([method]);
    for (field, value) in extra.as_object().unwrap() {
        body[field] = value.clone();
    }
    let created = rig.create_session(&body).expect_status(200);
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    let token = rig.token(&secret);
    (
        created.body["id"].as_str().unwrap().to_owned(),
        secret,
        token,
    )
}

fn pay(rig: &Rig, checkout: &(String, String, String), body: Value) -> Reply {
    rig.client
        .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.0))
        .bearer(&checkout.2)
        .from_frame_of(ORIGIN)
        .header(
            "Idempotency-Key",
            &format!("log-pay-{}", &checkout.0[3..19]),
        )
        .json(&body)
        .expect_status(200)
}

fn merchant_status(rig: &Rig, session_id: &str) -> String {
    rig.merchant_view(session_id)["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn wait_for_log(worker: &WorkerProcess, request_id: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = worker.log();
        if log.contains(request_id) || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[track_caller]
fn assert_no_secrets(log: &str, vars: &DevVars, seen: &Seen) {
    let mut secrets: Vec<(String, String)> = vec![
        ("TOKEN_SIGNING_KEY".into(), vars.token_signing_key.clone()),
        ("DEMO_MERCHANT_KEY".into(), vars.demo_merchant_key.clone()),
        ("BKASH_TEST_USERNAME".into(), vars.bkash.username.clone()),
        ("BKASH_TEST_PASSWORD".into(), vars.bkash.password.clone()),
        ("BKASH_TEST_APP_KEY".into(), vars.bkash.app_key.clone()),
        (
            "BKASH_TEST_APP_SECRET".into(),
            vars.bkash.app_secret.clone(),
        ),
        (
            "WECHATPAY_TEST_APIV3_KEY".into(),
            vars.wechat.api_v3_key.clone(),
        ),
        ("wechat openid".into(), OPENID.into()),
        ("caller's fake key".into(), FAKE_KEY.into()),
    ];
    for merchant in &vars.merchants {
        for key in &merchant.secret_keys {
            secrets.push((format!("{} key", merchant.id), key.clone()));
        }
    }
    // Private keys, by every line of their base64 body (any line would be a leak).
    for (name, pem) in [
        (
            "merchant private key",
            &vars.wechat.merchant_private_key_pem,
        ),
        (
            "platform private key",
            &vars.wechat.platform_private_key_pem,
        ),
    ] {
        for line in pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        {
            secrets.push((name.into(), line.to_owned()));
        }
    }
    for credential in &seen.credentials {
        secrets.push(("widget credential".into(), credential.clone()));
    }
    for (name, value) in &secrets {
        assert!(value.len() >= 16, "{name} is too short to search for");
        assert!(!log.contains(value.as_str()), "the log contains the {name}");
    }
    // Short numbers: as whole numbers only, not as digits inside a longer one.
    for (name, number) in [
        ("pay password", PAY_PASSWORD),
        ("wrong pay password", WRONG_PASSWORD),
        ("wallet number", RICH_WALLET),
    ] {
        assert!(!contains_number(log, number), "the log contains the {name}");
    }
}

/// Whether `number` appears in `text` with no digit right before or after it.
fn contains_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[track_caller]
fn assert_json_lines_with_request_ids(log: &str, seen: &Seen) {
    let lines: Vec<Value> = log
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object ({e}): {l}"))
        })
        .collect();
    assert!(
        lines.len() >= 20,
        "only {} JSON lines in:\n{log}",
        lines.len()
    );
    for line in &lines {
        let level = line["level"].as_str().unwrap_or("");
        assert!(["info", "warn", "error"].contains(&level), "{line}");
        if line.get("path").is_some() {
            let id = line["request_id"].as_str().unwrap_or("");
            assert!(id.starts_with("req_") && id.len() > 10, "{line}");
        }
    }
    for id in &seen.request_ids {
        let line = lines
            .iter()
            .find(|l| l["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no log line for {id}"));
        assert!(line["status"].as_u64().is_some(), "{line}");
    }
    // A refusal is logged by its code, so an on-call engineer can find it.
    assert!(
        lines.iter().any(|l| l["code"] == "incorrect_pay_password"),
        "no incorrect_pay_password line"
    );
}

/// The Worker's own lines (one JSON object each) hold none of the secrets sent in paths, and not
/// the pay password sent after its name.
#[track_caller]
fn assert_no_secrets_in_worker_lines(log: &str, seen: &Seen) {
    let worker_lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .collect();
    let text = worker_lines.join("\n");
    assert!(text.contains("/v1/checkout_sessions/whsec_****"), "{text}");
    for secret in &seen.in_paths {
        assert!(secret.len() >= 16, "{secret} is too short to search for");
        assert!(
            !text.contains(secret.as_str()),
            "a Worker line contains {secret}"
        );
    }
    assert!(
        !contains_number(&text, PATH_PASSWORD),
        "a Worker line contains the pay password sent in a path"
    );
}
