//! The pay password's storage and lockout against the Worker in workerd: the escalating lockout
//! up to a hard lock only the merchant lifts, with the merchant told by webhook; the per-address
//! wrong-password limit under parallel guesses; the reset event; hashes from before the pepper
//! verified and upgraded; pepper rotation; a pepper that is gone refused, never accepted.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout_core::webhook;
use checkout_simulators::http::{Reply as HttpReply, Request as HttpRequest, Response, Server};
use checkout_tests::api::{Client, Reply};
use checkout_tests::dev_vars::{pepper_config, random_pepper, DevVars};
use checkout_tests::fixtures::{Checkout, Rig, ORIGIN, PAY_PASSWORD};
use checkout_tests::temp_dir;
use checkout_tests::worker::{rate_limits_off, WorkerOptions, WorkerProcess};
use common::{all_at_once, assert_refused, now_s};
use serde_json::{json, Value};

/// The test-mode lockout steps (seconds) the escalation test runs with.
const STEP_S: u64 = 2;

/// A Worker on `dir` with `vars` (a restart with other variables reuses the same `dir`).
fn rig_on(dir: &std::path::Path, vars: Vec<(String, String)>) -> Rig {
    let options = WorkerOptions {
        vars,
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(dir, options);
    let client = Client::new(&worker.base_url);
    Rig {
        worker,
        client,
        vars: DevVars::of_repo(),
    }
}

fn var(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// A merchant endpoint on loopback that keeps every event body it receives.
struct Receiver {
    server: Server,
    bodies: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let bodies: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log = bodies.clone();
        let handler = Arc::new(move |request: HttpRequest| {
            let signature = request
                .header("Checkout-Signature")
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push((signature, request.body_text()));
            HttpReply::Respond(Response::json(200, &json!({"received": true})))
        });
        Receiver {
            server: Server::start(0, handler).expect("listen on loopback"),
            bodies,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/checkout", self.server.port())
    }

    /// Waits until `count` events of `kind` arrived, checks their signatures, and returns them.
    fn wait_for(&self, secret: &str, kind: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let matching: Vec<Value> = self
                .bodies
                .lock()
                .unwrap()
                .iter()
                .filter_map(|(signature, body)| {
                    webhook::verify(secret, signature, body, now_s())
                        .unwrap_or_else(|e| panic!("{e}: {body}"));
                    let event: Value = serde_json::from_str(body).unwrap();
                    (event["type"] == kind).then_some(event)
                })
                .collect();
            if matching.len() >= count {
                return matching;
            }
            assert!(
                Instant::now() < deadline,
                "{count} {kind} events: {:#?}",
                self.bodies.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn set_endpoint(rig: &Rig, url: &str) -> String {
    let reply = rig.admin("POST", "/v1/webhook_endpoints", json!({ "url": url }));
    reply.body["secret"].as_str().unwrap().to_owned()
}

fn wallet(rig: &Rig, customer: &str) -> Value {
    rig.client
        .call("GET", format!("/v1/customers/{customer}/wallet"))
        .bearer(&rig.key())
        .send()
        .expect_status(200)
        .body
}

fn unlock(rig: &Rig, customer: &str) -> Reply {
    rig.client
        .call(
            "POST",
            format!("/v1/customers/{customer}/pay_password/unlock"),
        )
        .bearer(&rig.key())
        .json(&json!({}))
}

fn set_password(rig: &Rig, customer: &str, password: &str) {
    rig.admin(
        "PUT",
        &format!("/v1/customers/{customer}/pay_password"),
        json!({ "pay_password": password }),
    );
}

/// Five wrong passwords: four `incorrect_pay_password`, then the lockout's answer.
fn fail_round(rig: &Rig, checkout: &Checkout, round: &str) -> Reply {
    for n in 1..=4 {
        let reply = rig.pay(checkout, &format!("{round}-wrong-key-{n}"), "000000");
        assert_refused(&reply, 402, "incorrect_pay_password");
        assert_eq!(reply.body["error"]["attempts_left"], 5 - n);
    }
    let locking = rig.pay(checkout, &format!("{round}-wrong-key-5"), "000000");
    assert_refused(&locking, 423, "pay_password_locked");
    locking
}

#[test]
fn wrong_passwords_escalate_to_a_hard_lock_that_only_the_merchant_lifts() {
    let mut vars = rate_limits_off();
    vars.push(var(
        "PAY_PASSWORD_LOCKOUT_S",
        &format!("{STEP_S},{STEP_S},{STEP_S}"),
    ));
    vars.push(var("WEBHOOK_FIRST_RETRY_MS", "200"));
    let rig = rig_on(&temp_dir("pay-password-escalation"), vars);
    let receiver = Receiver::start();
    let secret = set_endpoint(&rig, &receiver.url());
    let customer = "cus_escalate";
    rig.fund(customer, "50.00", "seed-escalate");
    let reset = receiver.wait_for(&secret, "customer.pay_password_reset", 1);
    assert_eq!(reset[0]["data"]["customer_id"], customer);
    assert!(reset[0].get("session_id").is_none(), "{}", reset[0]);
    let checkout = rig.checkout("order-escalate", "5.00", customer);

    for round in 1..=3 {
        let locking = fail_round(&rig, &checkout, &format!("r{round}"));
        let retry = locking.body["error"]["retry_after_s"].as_u64().unwrap();
        assert!((1..=STEP_S).contains(&retry), "{}", locking.body);
        let shown = wallet(&rig, customer);
        assert_eq!(shown["pay_password_locked"], true);
        assert!(shown["locked_until"].is_i64(), "{shown}");
        std::thread::sleep(Duration::from_millis(STEP_S * 1000 + 300));
    }
    let hard = fail_round(&rig, &checkout, "r4");
    assert!(
        hard.body["error"].get("retry_after_s").is_none(),
        "{}",
        hard.body
    );
    std::thread::sleep(Duration::from_millis(STEP_S * 1000 + 300));
    let still = rig.pay(&checkout, "after-hard-lock", PAY_PASSWORD);
    assert_refused(&still, 423, "pay_password_locked");
    let shown = wallet(&rig, customer);
    assert_eq!(shown["pay_password_locked"], true);
    assert!(shown.get("locked_until").is_none(), "{shown}");
    assert_eq!(rig.available(customer), "50.00");

    let locks = receiver.wait_for(&secret, "customer.pay_password_locked", 4);
    assert_eq!(locks.len(), 4, "one event per lockout");
    for (n, event) in locks.iter().enumerate() {
        assert_eq!(event["data"]["customer_id"], customer);
        assert_eq!(event["data"]["lockouts"], n as u64 + 1);
        assert_eq!(event["data"]["hard_locked"], n == 3, "{event}");
        assert_eq!(event["livemode"], false);
    }

    let unlocked = unlock(&rig, customer).expect_status(200);
    assert_eq!(unlocked.body["pay_password_locked"], false);
    receiver.wait_for(&secret, "customer.pay_password_unlocked", 1);
    rig.pay(&checkout, "after-unlock", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(rig.available(customer), "45.00");

    // The escalation starts again; a new password also lifts a lockout, and says so.
    let second = rig.checkout("order-escalate-2", "5.00", customer);
    fail_round(&rig, &second, "again");
    set_password(&rig, customer, "135790");
    receiver.wait_for(&secret, "customer.pay_password_reset", 2);
    rig.pay(&second, "new-password-key", "135790")
        .expect_status(200);
    assert_refused(&unlock(&rig, "cus_nobody"), 409, "pay_password_not_set");
}

#[test]
fn parallel_wrong_passwords_from_one_address_cannot_pass_its_limit() {
    const LIMIT: usize = 3;
    const RACERS: usize = 10;
    let mut vars: Vec<(String, String)> = rate_limits_off()
        .into_iter()
        .filter(|(name, _)| name != "RATE_WRONG_PASSWORD_PER_IP")
        .collect();
    vars.push(var("RATE_WRONG_PASSWORD_PER_IP", &LIMIT.to_string()));
    vars.push(var("RATE_WRONG_PASSWORD_WINDOW_S", "600"));
    let rig = rig_on(&temp_dir("pay-password-parallel"), vars);
    let checkouts: Vec<Checkout> = (0..RACERS)
        .map(|n| {
            let customer = format!("cus_par_{n}");
            rig.fund(&customer, "20.00", &format!("seed-{n}"));
            rig.checkout(&format!("order-par-{n}"), "1.00", &customer)
        })
        .collect();
    let pay_from = |checkout: &Checkout, key: &str, password: &str| {
        rig.client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .from_frame_of(ORIGIN)
            .header("CF-Connecting-IP", "198.51.100.7")
            .header("Idempotency-Key", key)
            .json(&json!({"method": "balance", "pay_password": password}))
    };
    // Correct passwords give their slot back: more of them than the limit all pass.
    for checkout in &checkouts[..LIMIT + 1] {
        pay_from(checkout, "right-key-1", PAY_PASSWORD).expect_status(200);
    }
    let second: Vec<Checkout> = (0..RACERS)
        .map(|n| rig.checkout(&format!("order-par2-{n}"), "1.00", &format!("cus_par_{n}")))
        .collect();
    let outcomes = all_at_once(RACERS, |n| {
        common::outcome(&pay_from(&second[n], "wrong-key-1", "000000"))
    });
    let wrong = outcomes
        .iter()
        .filter(|o| *o == "incorrect_pay_password")
        .count();
    let limited = outcomes.iter().filter(|o| *o == "rate_limited").count();
    assert!(
        wrong <= LIMIT,
        "{wrong} wrong passwords were checked: {outcomes:?}"
    );
    assert_eq!(wrong + limited, RACERS, "{outcomes:?}");
    let after = pay_from(&second[0], "wrong-key-2", "000000");
    assert_refused(&after, 429, "rate_limited");
}

/// Pays a fresh session of `customer` with `password`.
fn pay_fresh(rig: &Rig, customer: &str, order: &str, password: &str) -> Reply {
    let checkout = rig.checkout(order, "1.00", customer);
    rig.pay(&checkout, &format!("{order}-key"), password)
}

#[test]
fn legacy_hashes_are_upgraded_and_rotated_peppers_re_hash_and_a_missing_one_is_refused() {
    let dir = temp_dir("pay-password-peppers");
    let customer = "cus_pepper";
    let (a, b) = (random_pepper(), random_pepper());
    let peppers = |current: &str, keys: &[(&str, &str)]| {
        vec![var("PAY_PASSWORD_PEPPERS", &pepper_config(current, keys))]
    };

    // A Worker without peppers hashes the old way (and says so): the legacy row.
    let rig = rig_on(&dir, vec![var("PAY_PASSWORD_PEPPERS", "")]);
    rig.fund(customer, "20.00", "seed-pepper");
    pay_fresh(&rig, customer, "legacy-1", PAY_PASSWORD).expect_status(200);
    assert!(rig.worker.log().contains("pay_password_pepper_missing"));
    drop(rig);

    // Under pepper k1 the legacy row still verifies, and is upgraded at that entry.
    let rig = rig_on(&dir, peppers("k1", &[("k1", &a)]));
    let wrong = pay_fresh(&rig, customer, "k1-wrong", "000000");
    assert_refused(&wrong, 402, "incorrect_pay_password");
    pay_fresh(&rig, customer, "k1-1", PAY_PASSWORD).expect_status(200);
    drop(rig);

    // Proof of the upgrade: without peppers the row (now under k1) cannot be checked at all.
    // That is a configuration error, logged, and never an accepted password.
    let rig = rig_on(&dir, vec![var("PAY_PASSWORD_PEPPERS", "")]);
    // The wallet fails internally, so the session cannot know what it did: the attempt stays
    // processing (409) until the alarm asks the wallet, which fences the transfer id.
    let refused = pay_fresh(&rig, customer, "no-pepper", PAY_PASSWORD);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.code(), "payment_in_progress");
    assert!(rig.worker.log().contains("PAY_PASSWORD_PEPPERS is not set"));
    drop(rig);

    // Rotation: k2 current, k1 kept. The k1 row verifies and is re-hashed under k2...
    let rig = rig_on(&dir, peppers("k2", &[("k1", &a), ("k2", &b)]));
    pay_fresh(&rig, customer, "k2-1", PAY_PASSWORD).expect_status(200);
    drop(rig);
    // ...so k1 can go.
    let rig = rig_on(&dir, peppers("k2", &[("k2", &b)]));
    pay_fresh(&rig, customer, "k2-2", PAY_PASSWORD).expect_status(200);
    assert_refused(
        &pay_fresh(&rig, customer, "k2-wrong", "000000"),
        402,
        "incorrect_pay_password",
    );
    drop(rig);

    // A row whose pepper is gone is refused, right password or wrong, and nothing is counted.
    let rig = rig_on(&dir, peppers("k3", &[("k3", &a)]));
    for (order, password) in [("k3-right", PAY_PASSWORD), ("k3-wrong", "000000")] {
        let refused = pay_fresh(&rig, customer, order, password);
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert_eq!(refused.code(), "payment_in_progress");
    }
    let log = rig.worker.log();
    assert!(log.contains("has no pepper k2"), "{log}");
    assert_eq!(wallet(&rig, customer)["pay_password_locked"], false);
    assert_eq!(rig.available(customer), "16.00");
    for secret in [&a, &b] {
        assert!(!log.contains(secret.as_str()), "a pepper reached the log");
    }
}

/// What a pay-password entry costs, for docs/benchmarks.md: the median of sequential
/// `PUT .../pay_password` calls (one KDF each, plus the request's fixed costs) with peppered
/// hashing (2,000 iterations) and without peppers (100,000, the old scheme). Not an assertion:
/// run with `--ignored --nocapture` and read the figures.
#[test]
#[ignore = "a measurement; prints figures"]
fn kdf_costs_per_entry() {
    const CALLS: usize = 80;
    // (minimum, median) of sequential calls, after a warm-up round.
    let timings = |rig: &Rig| {
        let round = |label: &str| {
            let mut times: Vec<f64> = (0..CALLS)
                .map(|n| {
                    let started = Instant::now();
                    set_password(rig, &format!("cus_bench_{label}_{n}"), PAY_PASSWORD);
                    started.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            times.sort_by(f64::total_cmp);
            (times[0], times[CALLS / 2])
        };
        round("warm");
        round("timed")
    };
    let a = random_pepper();
    let peppered = rig_on(
        &temp_dir("kdf-peppered"),
        vec![var(
            "PAY_PASSWORD_PEPPERS",
            &pepper_config("k1", &[("k1", &a)]),
        )],
    );
    let (peppered_min, peppered_median) = timings(&peppered);
    drop(peppered);
    let legacy = rig_on(
        &temp_dir("kdf-legacy"),
        vec![var("PAY_PASSWORD_PEPPERS", "")],
    );
    let (legacy_min, legacy_median) = timings(&legacy);
    // The difference is 98,000 iterations; scaled to the 2,000 a peppered entry costs.
    let per_2000 = |legacy: f64, peppered: f64| (legacy - peppered) / 98_000.0 * 2_000.0;
    println!(
        "PUT pay_password, {CALLS} sequential calls: peppered (HMAC + PBKDF2 x2,000) min {peppered_min:.2} ms, \
         median {peppered_median:.2} ms; unpeppered (PBKDF2 x100,000) min {legacy_min:.2} ms, \
         median {legacy_median:.2} ms; so 98,000 iterations cost {:.2} ms (min) / {:.2} ms \
         (median), and 2,000 about {:.3} / {:.3} ms",
        legacy_min - peppered_min,
        legacy_median - peppered_median,
        per_2000(legacy_min, peppered_min),
        per_2000(legacy_median, peppered_median),
    );
}
