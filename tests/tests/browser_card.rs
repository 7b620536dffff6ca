//! Browser: the demo shop paid by card through the Stripe simulator's hosted page, in headless
//! Chromium at phone (375 px) and desktop (1280 px) widths: a plain payment, a 3-D Secure
//! challenge passed and failed, a decline then a retry with 4242 4242 4242 4242, points and store
//! balance with the card for the rest, and the card number never reaching us: after a card is
//! typed on the gateway's page, no form of its number is in any request the Worker received
//! (all of them go through a recording proxy), in the Worker's log, or in its Durable Objects'
//! storage; numbers planted in each of those places are found, so the search can fail.

use std::time::Duration;

use checkout_simulators::stripe::cards;
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers::{self, Stripe};
use checkout_tests::recorder::{files_under, find_card_number, Recorder};
use checkout_tests::shop::{self, returned_session_id};
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{repo_root, temp_dir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(25);
const EXPIRY: &str = "12 / 34";
const CVC: &str = "123";

/// The demo shop with cards through a Stripe simulator, reached through a recording proxy.
struct Shop {
    stripe: Stripe,
    worker: WorkerProcess,
    proxy: Recorder,
    browser: Browser,
}

impl Shop {
    /// At `width` CSS pixels: below 500 (the narrowest window) through phone emulation.
    fn start(label: &str, width: u32) -> Shop {
        let browser = Browser::start(width.max(500), 900);
        if width < 500 {
            browser.emulate_phone(width, 800);
        }
        Shop::start_in(label, browser)
    }

    /// At `width` CSS pixels, the card chosen and the shopper sent on to the gateway's card page.
    fn at_gateway(label: &str, width: u32) -> Shop {
        let shop = Shop::start(label, width);
        shop.choose_card();
        shop.continue_to_gateway();
        shop
    }

    fn start_in(label: &str, browser: Browser) -> Shop {
        let stripe = providers::start_stripe(0);
        let options = WorkerOptions {
            vars: providers::stripe_worker_vars(&stripe),
            ..WorkerOptions::default()
        };
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        let proxy = Recorder::start(&worker.base_url);
        stripe.send_webhooks_to(&proxy.base_url);
        Shop {
            stripe,
            worker,
            proxy,
            browser,
        }
    }

    fn client(&self) -> Client {
        Client::new(&self.proxy.base_url)
    }

    fn admin(&self, method: &str, path: &str, body: Value) {
        self.client()
            .call(method, path)
            .bearer(&DevVars::of_repo().demo_merchant_key)
            .json(&body)
            .expect_status(200);
    }

    /// The shop's Buy, then the card chosen: the widget shows the card with its limits.
    fn choose_card(&self) {
        let b = &self.browser;
        b.goto(&format!("{}/", self.proxy.base_url));
        b.click(&b.wait_for("[data-testid=buy-button]", WAIT));
        b.click(&b.wait_for("[data-testid=method-card]", WAIT));
    }

    /// Pay: the widget sends the shopper to the gateway's card page.
    fn continue_to_gateway(&self) {
        let b = &self.browser;
        b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
        b.wait_for("#cardNumber", WAIT);
    }

    fn pay_with(&self, card: &str) {
        providers::pay_on_stripe_page(&self.browser, card, EXPIRY, CVC);
    }

    /// The session id the shop got back in its return URL.
    fn session_id(&self) -> String {
        returned_session_id(&self.browser)
    }

    fn merchant_view(&self, id: &str) -> Value {
        shop::merchant_view(&self.proxy.base_url, id)
    }

    fn shows_paid(&self) {
        let b = &self.browser;
        b.wait_for("[data-testid=result-success]", WAIT);
        let status = b.wait_for("[data-testid=merchant-status]", WAIT);
        assert_eq!(b.text(&status), "PAID");
        assert_eq!(self.merchant_view(&self.session_id())["status"], "paid");
    }

    /// The widget's problem notice, once shown.
    fn notice(&self) -> String {
        self.browser
            .wait_for_text("[data-testid=error-message]", WAIT)
    }

    fn screenshot(&self, name: &str) {
        let path = repo_root().join(format!("artifacts/screenshots/{name}.png"));
        self.browser.screenshot(&path);
    }
}

#[test]
fn a_shopper_pays_by_card_in_the_demo_shop_and_returns_to_a_paid_order() {
    at_each_width(pays_by_card_at);
}

fn pays_by_card_at(width: u32) {
    let shop = Shop::start(&format!("browser-card-success-{width}"), width);
    shop.choose_card();
    let b = &shop.browser;
    // The card's row: its name, the brands' marks (decorative) and their names as text.
    let row = b.wait_for("label[for=ck-method-card]", WAIT);
    let text = b.text(&row);
    assert!(text.contains("Card"), "{text}");
    let marks = b.script(
        "const host = [...document.querySelectorAll('*')]\
           .find((e) => e.shadowRoot && e.shadowRoot.querySelector('.ck-brands'));\
         const m = host.shadowRoot.querySelector('label[for=ck-method-card] .ck-brands');\
         return [m.getAttribute('aria-hidden'), m.querySelectorAll('svg').length];",
        vec![],
    );
    assert_eq!(marks, json!(["true", 4]));
    let pay = b.wait_for("[data-testid=pay-button]", WAIT);
    assert_eq!(b.text(&pay), "Continue to card payment");
    shop.screenshot(&format!("card-method-{width}"));
    shop.continue_to_gateway();
    shop.screenshot(&format!("card-gateway-page-{width}"));
    shop.pay_with(cards::SUCCESS_CARD);
    shop.shows_paid();
    let view = shop.merchant_view(&shop.session_id());
    assert_eq!(view["payments"][0]["method"], "card", "{view}");
    shop.screenshot(&format!("card-returned-paid-{width}"));
}

#[test]
fn a_3ds_challenge_failed_stays_at_the_gateway_and_one_passed_pays() {
    at_each_width(three_d_secure_at);
}

fn three_d_secure_at(width: u32) {
    let shop = Shop::at_gateway(&format!("browser-card-3ds-{width}"), width);
    shop.pay_with(cards::THREE_DS_CARD);
    shop.browser.wait_for("#test-source-fail-3ds", WAIT);
    shop.screenshot(&format!("card-3ds-challenge-{width}"));
    providers::answer_stripe_challenge(&shop.browser, false);
    // As on Stripe Checkout, a failed challenge comes back to the card form with the reason;
    // nothing went back to the shop and the order is still open.
    let b = &shop.browser;
    let errors = b.wait_for("#card-errors", WAIT);
    assert!(!b.text(&errors).trim().is_empty());
    assert!(b.find("[data-testid=result-success]").is_none());

    clear_card_form(b);
    shop.pay_with(cards::THREE_DS_CARD);
    providers::answer_stripe_challenge(b, true);
    shop.shows_paid();
}

#[test]
fn a_declined_card_says_why_and_a_retry_with_4242_pays() {
    at_each_width(decline_then_retry_at);
}

fn decline_then_retry_at(width: u32) {
    let shop = Shop::at_gateway(&format!("browser-card-decline-{width}"), width);
    shop.pay_with(cards::INSUFFICIENT_FUNDS_CARD);
    // As on Stripe Checkout, a decline keeps the shopper on the card form with the reason.
    let b = &shop.browser;
    b.wait_until(
        "the decline's reason",
        "return document.getElementById('card-errors')?.textContent.trim().length > 0;",
        WAIT,
    );
    shop.screenshot(&format!("card-declined-at-gateway-{width}"));
    let text = b.text(&b.wait_for("#card-errors", WAIT));
    assert!(text.to_lowercase().contains("insufficient"), "{text}");
    assert!(b.find("[data-testid=result-success]").is_none());
    // The retry on the same page, with a card that works.
    clear_card_form(b);
    shop.pay_with(cards::SUCCESS_CARD);
    shop.shows_paid();
}

/// Stripe's page told the shopper why the card was declined; leaving it, they are back on an
/// open order, told in their language why (the decline's own message) and that nothing was taken.
#[test]
fn a_decline_then_leaving_the_gateway_returns_to_an_open_order_in_the_shoppers_language() {
    for (languages, label, expected) in [
        (
            "bn-BD,bn",
            "browser-card-decline-bn",
            "এই পেমেন্টের জন্য আপনার কার্ডে যথেষ্ট টাকা নেই। কোনো টাকা কাটা হয়নি।",
        ),
        (
            "zh-CN,zh",
            "browser-card-decline-zh",
            "您的银行卡余额不足以支付此笔款项，未扣除任何款项。",
        ),
    ] {
        let shop = Shop::start_in(label, Browser::start_in_language(1280, 900, languages));
        shop.choose_card();
        shop.continue_to_gateway();
        shop.pay_with(cards::INSUFFICIENT_FUNDS_CARD);
        let b = &shop.browser;
        b.wait_until(
            "the decline's reason",
            "return document.getElementById('card-errors')?.textContent.trim().length > 0;",
            WAIT,
        );
        b.click(&b.wait_for("#cancel", WAIT));
        let notice = shop.notice();
        assert!(notice.contains(expected), "{languages}: {notice}");
        let merchant = shop.merchant_view(&shop.session_id());
        assert_eq!(merchant["status"], "open");
        assert_eq!(
            merchant["payments"][0]["failure_code"],
            "card_insufficient_funds"
        );
        assert_eq!(
            merchant["payments"][0]["decline_code"],
            "insufficient_funds"
        );
        shop.screenshot(&format!("card-declined-returned-{}", &languages[..2]));
    }
}

#[test]
fn a_cancel_at_the_gateway_returns_to_an_open_order_that_a_second_card_then_pays() {
    let shop = Shop::at_gateway("browser-card-cancel", 1280);
    let b = &shop.browser;
    b.click(&b.wait_for("#cancel", WAIT));
    let notice = shop.notice();
    assert!(notice.contains("canceled"), "{notice}");
    assert_eq!(shop.merchant_view(&shop.session_id())["status"], "open");
    shop.continue_to_gateway();
    shop.pay_with(cards::SUCCESS_CARD);
    shop.shows_paid();
}

#[test]
fn points_balance_and_a_card_pay_one_order_in_the_demo_shop() {
    at_each_width(split_with_card_at);
}

fn split_with_card_at(width: u32) {
    let shop = Shop::start(&format!("browser-card-split-{width}"), width);
    shop.admin(
        "POST",
        "/v1/customers/cus_demo/balance_credits",
        json!({"amount": "500.00", "currency": "BDT", "reference": "s"}),
    );
    shop.admin(
        "PUT",
        "/v1/customers/cus_demo/pay_password",
        json!({"pay_password": "123456"}),
    );
    shop.admin(
        "POST",
        "/v1/customers/cus_demo/points_credits",
        json!({"points": 2000, "reference": "s"}),
    );
    shop.choose_card();
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=use-points]", WAIT));
    b.click(&b.wait_for("[data-testid=use-balance]", WAIT));
    let text = b.text(&b.wait_for("[data-testid=split-breakdown]", WAIT));
    for expected in [
        "2000 points: BDT 200.00",
        "Store balance: BDT 500.00",
        "Card: BDT 550.00",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    shop.screenshot(&format!("card-split-{width}"));
    shop.continue_to_gateway();
    shop.pay_with(cards::SUCCESS_CARD);
    shop.shows_paid();

    let wallet = shop
        .client()
        .call("GET", "/v1/customers/cus_demo/wallet")
        .bearer(&DevVars::of_repo().demo_merchant_key)
        .send()
        .expect_status(200);
    assert_eq!(
        wallet.body["balances"][0]["available"], "0.00",
        "{}",
        wallet.body
    );
    assert_eq!(wallet.body["points"]["available"], 0, "{}", wallet.body);
    let view = shop.merchant_view(&shop.session_id());
    let legs = &view["payments"][0]["legs"];
    assert_eq!(
        legs,
        &json!([
            {"amount": "200.00", "method": "points", "points": 2000, "status": "succeeded"},
            {"amount": "500.00", "method": "balance", "status": "succeeded"},
            {"amount": "550.00", "method": "card", "status": "succeeded"}
        ]),
        "{view}"
    );
    // The gateway took exactly the card's part.
    let taken: Vec<i64> = intents(&shop.stripe)
        .iter()
        .map(|pi| pi["amount_received"].as_i64().unwrap_or_default())
        .collect();
    assert_eq!(taken, [55_000], "{view}");
}

/// A shop that captures later (`capture: "manual"`): the shopper sees the authorization as a
/// success that the shop will confirm; the shop's capture then makes the order paid.
#[test]
fn an_authorized_card_is_a_success_for_the_shopper_and_the_shops_capture_makes_it_paid() {
    let shop = Shop::start("browser-card-authorized", 375);
    let key = DevVars::of_repo().demo_merchant_key;
    let created = shop
        .client()
        .call("POST", "/v1/checkout_sessions")
        .bearer(&key)
        .json(&json!({
            "order_id": "manual-1", "amount": "80.00", "currency": "BDT",
            "description": "Tea, captured when shipped", "customer_id": "cus_manual",
            "methods": ["card"], "capture": "manual",
            "return_url": format!("{}/", shop.proxy.base_url)
        }))
        .expect_status(200);
    let id = created.body["id"]
        .as_str()
        .expect("a session id")
        .to_owned();
    // The demo shop's page shows any of its merchant's sessions named in its URL.
    let b = &shop.browser;
    b.goto(&format!("{}/?checkout_session={id}", shop.proxy.base_url));
    b.click(&b.wait_for("[data-testid=method-card]", WAIT));
    shop.continue_to_gateway();
    shop.pay_with(cards::SUCCESS_CARD);

    let result = b.wait_for("[data-testid=result-success]", WAIT);
    assert_eq!(
        b.attribute(&result, "data-status").as_deref(),
        Some("authorized")
    );
    let heading = b.text(&b.wait_for("[data-testid=result-heading]", WAIT));
    assert_eq!(heading, "Payment authorized");
    let text = b.text(&result);
    assert!(text.contains("The shop will confirm"), "{text}");
    shop.screenshot("card-authorized-375");
    assert_eq!(shop.merchant_view(&id)["status"], "authorized");

    shop.client()
        .call("POST", format!("/v1/checkout_sessions/{id}/capture"))
        .bearer(&key)
        .json(&json!({}))
        .expect_status(200);
    assert_eq!(shop.merchant_view(&id)["status"], "paid");
}

/// The card typed on the gateway's page in the test below (a 3-D Secure test card the gateway's
/// page does not print in its hint), with the spaces a shopper types.
const TYPED: &str = "4000 0027 6000 3184";
/// Numbers planted where the search must find them: one in a request (and so the log), one in
/// the Durable Objects' storage.
const PLANTED_IN_REQUEST: &str = "4000 0566 5566 5556";
const PLANTED_IN_STORAGE: &str = "5555555555554444";

#[test]
fn the_card_number_typed_at_the_gateway_never_reaches_the_worker_its_log_or_its_storage() {
    let shop = Shop::at_gateway("browser-card-pci", 1280);
    // Typed with the spaces a shopper types, then 3-D Secure passed: the whole flow, return and
    // webhooks included.
    shop.pay_with(TYPED);
    providers::answer_stripe_challenge(&shop.browser, true);
    shop.shows_paid();
    // The gateway did take that card: the search below looks for a number that was really used.
    let at_gateway: Vec<Value> = intents(&shop.stripe)
        .iter()
        .map(|pi| pi["latest_charge"]["payment_method_details"]["card"]["last4"].clone())
        .collect();
    assert_eq!(at_gateway, [json!("3184")]);
    // Webhooks are requests too: wait for their delivery before searching.
    wait_for_deliveries(&shop.stripe);

    // The plants: a request carrying a number in its body and path, a session storing one.
    let planted = shop
        .client()
        .call(
            "POST",
            format!(
                "/v1/checkout_sessions/{}",
                PLANTED_IN_REQUEST.replace(' ', "")
            ),
        )
        .bearer(&DevVars::of_repo().demo_merchant_key)
        .json(&json!({"card": PLANTED_IN_REQUEST}));
    assert!(planted.status >= 400, "{}", planted.body);
    shop.admin(
        "POST",
        "/v1/checkout_sessions",
        json!({
            "order_id": "plant-1", "amount": "10.00", "currency": "BDT",
            "description": format!("planted {PLANTED_IN_STORAGE}"),
            "customer_id": "cus_plant", "methods": ["card"],
            "return_url": "https://shop.example/return"
        }),
    );

    let requests: Vec<(String, Vec<u8>)> = shop
        .proxy
        .requests()
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("request {i}"), r))
        .collect();
    assert!(
        requests.len() > 10,
        "the page, the widget's calls and the return went through the proxy: {}",
        requests.len()
    );
    let persist = shop.worker.persist_dir.clone();
    let log_path = shop.worker.log_path.clone();
    // Stopping the Worker flushes its storage and its log.
    drop(shop.browser);
    drop(shop.worker);
    let log = vec![(
        "the Worker's log".to_owned(),
        std::fs::read(&log_path).expect("the log"),
    )];
    let storage: Vec<(String, Vec<u8>)> = files_under(&persist)
        .into_iter()
        .filter(|(path, _)| !path.ends_with(".log") && !path.contains("/assets/"))
        .collect();
    assert!(
        storage.iter().any(|(path, _)| path.ends_with(".sqlite")),
        "the Durable Objects' SQLite files: {:?}",
        storage.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );

    // The typed number: nowhere.
    for (what, sources) in [
        ("requests", &requests),
        ("log", &log),
        ("storage", &storage),
    ] {
        let found = find_card_number(TYPED, sources);
        assert!(
            found.is_empty(),
            "the card number reached the Worker's {what}: {found:?}"
        );
    }
    // The plants: found where they were put, so the search above could have failed.
    assert!(!find_card_number(PLANTED_IN_REQUEST, &requests).is_empty());
    assert!(!find_card_number(PLANTED_IN_REQUEST, &log).is_empty());
    assert!(!find_card_number(PLANTED_IN_STORAGE, &storage).is_empty());
}

/// Empties the gateway's card form (it may keep what was typed, as Stripe's does).
/// Runs `flow` at a phone's width (375 CSS pixels) and at a desktop's (1280).
fn at_each_width(flow: fn(u32)) {
    for width in [375, 1280] {
        flow(width);
    }
}

fn clear_card_form(b: &Browser) {
    for field in ["#cardNumber", "#cardExpiry", "#cardCvc", "#billingName"] {
        b.clear(&b.wait_for(field, WAIT));
    }
}

/// The PaymentIntents of the sessions the simulator completed, as its API shows them (with
/// the latest charge expanded).
fn intents(stripe: &Stripe) -> Vec<Value> {
    let mut ids: Vec<String> = stripe
        .events()
        .iter()
        .map(|e| &e["data"]["object"])
        .filter(|o| o["object"] == "checkout.session")
        .filter_map(|o| match &o["payment_intent"] {
            Value::String(id) => Some(id.clone()),
            other => other["id"].as_str().map(str::to_owned),
        })
        .collect();
    ids.dedup();
    ids.iter()
        .filter_map(|id| stripe.payment_intent(id))
        .collect()
}

/// Waits until every event the simulator made was delivered to the Worker and acknowledged.
fn wait_for_deliveries(stripe: &Stripe) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let deliveries = stripe.deliveries();
        let undelivered = stripe.events().iter().any(|e| {
            !deliveries
                .iter()
                .any(|d| e["id"] == d.event_id.as_str() && d.acknowledged)
        });
        if !undelivered {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "webhooks still undelivered: {deliveries:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
