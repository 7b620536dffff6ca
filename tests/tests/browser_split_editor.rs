//! Browser: the split editor's points field. A figure over the merchant's cap is refused beside
//! the field and Pay stays disabled; a valid figure splits the total exactly (points, balance,
//! bKash for the rest) and the payment has exactly those legs. Store balance short by 0.01 is
//! refused before any request, and a few points make up the difference.
//!
//! Each test creates its session through the merchant API and mounts it in
//! `/test/widget.html?secret=...` (`tests/pages/`); bKash's return goes to the demo shop, which resumes it.

use std::time::Duration;

use std::ops::Deref;

use checkout_simulators::bkash::{RunningBkash, RICH_WALLET, SANDBOX_PIN};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures;
use checkout_tests::providers;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::WorkerOptions;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(25);

/// A Worker with bKash (through the simulator), the demo merchant's key and a browser.
struct Rig {
    _sim: RunningBkash,
    base: fixtures::Rig,
    browser: Browser,
}

impl Deref for Rig {
    type Target = fixtures::Rig;

    fn deref(&self) -> &fixtures::Rig {
        &self.base
    }
}

impl Rig {
    fn start(label: &str) -> Rig {
        let vars = DevVars::of_repo();
        let sim = providers::start_bkash(&vars, 0);
        let options = WorkerOptions {
            vars: providers::bkash_worker_vars(&sim),
            ..WorkerOptions::default()
        };
        Rig {
            _sim: sim,
            base: fixtures::Rig::start_with(label, options),
            browser: Browser::start(1280, 1000),
        }
    }

    /// Funds `customer` (balance, points) and sets the pay password `123456`.
    fn fund(&self, customer: &str, balance: &str, points: i64) {
        let path = |what: &str| format!("/v1/customers/{customer}/{what}");
        let credit = json!({"amount": balance, "currency": "BDT", "reference": "editor"});
        self.admin("POST", &path("balance_credits"), credit);
        if points > 0 {
            let credit = json!({"points": points, "reference": "editor"});
            self.admin("POST", &path("points_credits"), credit);
        }
        let password = json!({"pay_password": "123456"});
        self.admin("PUT", &path("pay_password"), password);
    }

    /// A 100.00 taka session for `customer` offering `methods`; returns its id and the test
    /// page that mounts it.
    fn session(&self, customer: &str, methods: Value) -> (String, String) {
        let created = self.admin(
            "POST",
            "/v1/checkout_sessions",
            json!({
                "order_id": format!("editor-{customer}"), "amount": "100.00", "currency": "BDT",
                "description": "Tea set", "customer_id": customer, "methods": methods,
                "return_url": format!("{}/", self.worker.base_url)
            }),
        );
        let id = created.body["id"]
            .as_str()
            .expect("a session id")
            .to_owned();
        let secret = created.body["client_secret"].as_str().expect("a secret");
        let page = format!("{}/test/widget.html?secret={secret}", self.worker.base_url);
        (id, page)
    }

    /// Replaces the points field's figure with `points`.
    fn type_points(&self, points: &str) {
        let b = &self.browser;
        let field = b.wait_for("[data-testid=points-input]", WAIT);
        b.clear(&field);
        b.type_text(&field, points);
    }

    /// Waits until the breakdown reads exactly `lines`, one per leg.
    #[track_caller]
    fn wait_breakdown(&self, lines: &[&str]) -> Vec<String> {
        let expected = lines.join("\n");
        let script = format!(
            "const el = document.querySelector('#checkout')?.shadowRoot\
             ?.querySelector('[data-testid=split-breakdown]'); \
             return !!el && Array.from(el.querySelectorAll('li')).map(li => li.textContent.trim()).join('\\n') === {expected:?};"
        );
        self.browser.wait_until(
            &format!("the breakdown to read {expected:?}"),
            &script,
            WAIT,
        );
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    fn pay_disabled(&self) -> bool {
        let pay = self.browser.wait_for("[data-testid=pay-button]", WAIT);
        self.browser.attribute(&pay, "disabled").is_some()
    }
}

/// The amount at the end of a breakdown line ("bKash: BDT 50.00"), in minor units.
fn line_minor(line: &str) -> i64 {
    let amount = line.rsplit(' ').next().expect("an amount");
    let (units, cents) = amount.split_once('.').expect("two decimals");
    units.replace(',', "").parse::<i64>().expect("units") * 100
        + cents.parse::<i64>().expect("cents")
}

/// The session's one payment's legs, as (method, amount, points).
fn legs(view: &Value) -> Vec<(String, String, Option<i64>)> {
    view["payments"][0]["legs"]
        .as_array()
        .expect("legs")
        .iter()
        .map(|leg| {
            (
                leg["method"].as_str().unwrap_or_default().to_owned(),
                leg["amount"].as_str().unwrap_or_default().to_owned(),
                leg["points"].as_i64(),
            )
        })
        .collect()
}

#[test]
fn points_over_the_cap_are_refused_and_a_valid_figure_pays_exactly_the_breakdown() {
    let rig = Rig::start("browser-split-editor-cap");
    rig.fund("cus_editor", "20.00", 2_000);
    let (id, page) = rig.session("cus_editor", json!(["points", "balance", "bkash"]));
    let b = &rig.browser;
    b.goto(&page);
    b.click(&b.wait_for("[data-testid=method-bkash]", WAIT));
    b.click(&b.wait_for("[data-testid=use-points]", WAIT));

    // 10 points = 1.00: points may pay the whole 100.00 order, so at most 1000 of the 2000.
    let field = b.wait_for("[data-testid=points-input]", WAIT);
    assert_eq!(b.attribute(&field, "min").as_deref(), Some("100"));
    assert_eq!(b.attribute(&field, "max").as_deref(), Some("1000"));
    assert_eq!(b.attribute(&field, "step").as_deref(), Some("1"));
    assert!(!rig.pay_disabled(), "the suggested figure can be paid");

    rig.type_points("1500");
    let reason = b.wait_for("[data-testid=points-error]", WAIT);
    assert!(
        b.text(&reason).contains("more than the allowed share"),
        "{}",
        b.text(&reason)
    );
    assert!(
        rig.pay_disabled(),
        "Pay is disabled while the points are refused"
    );
    rig.type_points("50");
    let reason = b.wait_for("[data-testid=points-error]", WAIT);
    assert!(b.text(&reason).contains("minimum"), "{}", b.text(&reason));
    assert!(rig.pay_disabled());

    rig.type_points("300");
    b.click(&b.wait_for("[data-testid=use-balance]", WAIT));
    let lines = rig.wait_breakdown(&[
        "300 points: BDT 30.00",
        "Store balance: BDT 20.00",
        "bKash: BDT 50.00",
    ]);
    assert_eq!(lines.iter().map(|l| line_minor(l)).sum::<i64>(), 10_000);
    assert!(b.find("[data-testid=points-error]").is_none());
    assert!(!rig.pay_disabled());

    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    providers::approve_on_bkash_page(b, RICH_WALLET, SANDBOX_PIN);
    b.wait_for("[data-testid=result-success]", WAIT);

    let view = rig.merchant_view(&id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "100.00");
    let mut paid = legs(&view);
    paid.sort();
    assert_eq!(
        paid,
        vec![
            ("balance".to_owned(), "20.00".to_owned(), None),
            ("bkash".to_owned(), "50.00".to_owned(), None),
            ("points".to_owned(), "30.00".to_owned(), Some(300)),
        ]
    );
}

#[test]
fn a_balance_short_by_a_cent_is_refused_before_paying_and_points_make_it_up() {
    let rig = Rig::start("browser-split-editor-short");
    rig.fund("cus_short", "99.99", 0);
    let (id, page) = rig.session("cus_short", json!(["balance", "points"]));
    let b = &rig.browser;
    b.goto(&page);
    b.click(&b.wait_for("[data-testid=method-balance]", WAIT));
    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    let notice = b.wait_for_text("[data-testid=error-message]", WAIT);
    assert!(notice.contains("BDT 0.01 is still to pay"), "{notice}");
    // The widget said so itself: nothing reached the session.
    let view = rig.merchant_view(&id);
    assert_eq!(view["status"], "open");
    assert_eq!(view["payments"], json!([]));

    // 100 points (10.00, the merchant's minimum per use) cover the missing cent.
    rig.admin(
        "POST",
        "/v1/customers/cus_short/points_credits",
        json!({"points": 100, "reference": "top-up"}),
    );
    b.goto(&page);
    b.click(&b.wait_for("[data-testid=method-balance]", WAIT));
    b.click(&b.wait_for("[data-testid=use-points]", WAIT));
    rig.type_points("100");
    let lines = rig.wait_breakdown(&["100 points: BDT 10.00", "Store balance: BDT 90.00"]);
    assert_eq!(lines.iter().map(|l| line_minor(l)).sum::<i64>(), 10_000);
    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    b.wait_for("[data-testid=result-success]", WAIT);

    let view = rig.merchant_view(&id);
    assert_eq!(view["status"], "paid");
    let mut paid = legs(&view);
    paid.sort();
    assert_eq!(
        paid,
        vec![
            ("balance".to_owned(), "90.00".to_owned(), None),
            ("points".to_owned(), "10.00".to_owned(), Some(100)),
        ]
    );
}
