//! The hosted page, as a browser posts its form.

use super::{rig, secs, send, Answer, Rig};
use crate::bkash::{PaymentState, LOW_BALANCE_WALLET, RICH_WALLET, SANDBOX_OTP, SANDBOX_PIN};

fn open(rig: &Rig, id: &str) -> Answer {
    let url = format!("{}/checkout?paymentID={id}", rig.sim.origin());
    send("GET", &url, &[], None, secs(5)).unwrap()
}

fn submit(rig: &Rig, id: &str, wallet: &str, otp: &str, pin: &str, action: &str) -> Answer {
    let form = format!("paymentID={id}&wallet={wallet}&otp={otp}&pin={pin}&action={action}");
    let url = format!("{}/checkout", rig.sim.origin());
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    send("POST", &url, &headers, Some(&form), secs(5)).unwrap()
}

fn html(answer: &Answer) -> &str {
    assert!(answer.body.is_null(), "an HTML page: {}", answer.body);
    &answer.text
}

#[test]
fn the_page_shows_the_payment_and_the_wallet_form() {
    let rig = rig();
    let id = rig.create("1250.50");
    let page = open(&rig, &id);
    assert_eq!(page.status, 200);
    let html = html(&page);
    for testid in ["wallet-number", "otp", "pin", "confirm", "cancel"] {
        assert!(
            html.contains(&format!("data-testid=\"{testid}\"")),
            "{testid}"
        );
    }
    assert!(html.contains("BDT 1,250.50"));
    assert!(html.contains("name=\"viewport\""));
    assert!(!html.contains("src=\"http"), "no external assets");
    assert_eq!(open(&rig, "TR0011nope").status, 404);
}

#[test]
fn wrong_details_show_an_error_and_allow_another_try() {
    let rig = rig();
    let id = rig.create("20.00");
    let cases = [
        ("0177", SANDBOX_OTP, SANDBOX_PIN, "11-digit"),
        (
            "01000000000",
            SANDBOX_OTP,
            SANDBOX_PIN,
            "not a bKash account",
        ),
        (
            RICH_WALLET,
            "000000",
            SANDBOX_PIN,
            "Wrong verification code",
        ),
        (RICH_WALLET, SANDBOX_OTP, "00000", "Wrong PIN"),
    ];
    for (wallet, otp, pin, message) in cases {
        let answer = submit(&rig, &id, wallet, otp, pin, "confirm");
        assert_eq!(answer.status, 200);
        assert!(html(&answer).contains(message), "{message}");
        assert!(html(&answer).contains("data-testid=\"error\""));
    }
    assert_eq!(rig.sim.payment(&id).unwrap().state, PaymentState::Initiated);

    let done = submit(&rig, &id, RICH_WALLET, SANDBOX_OTP, SANDBOX_PIN, "confirm");
    assert_eq!(done.status, 303);
    let location = done.header("Location").unwrap();
    assert!(location.starts_with(&format!(
        "https://shop.example/bkash/callback?paymentID={id}&status=success&signature="
    )));
    assert!(location.ends_with("&apiVersion=1.2.0-beta"));
    assert_eq!(
        rig.sim.payment(&id).unwrap().state,
        PaymentState::Authorized
    );
    assert!(html(&open(&rig, &id)).contains("no longer waits"));
}

#[test]
fn cancel_and_too_little_money_redirect_with_their_status() {
    let rig = rig();
    let cancelled = rig.create("20.00");
    let answer = submit(&rig, &cancelled, "", "", "", "cancel");
    assert_eq!(answer.status, 303);
    assert!(answer
        .header("Location")
        .unwrap()
        .contains("&status=cancel&"));
    assert_eq!(
        rig.sim.payment(&cancelled).unwrap().state,
        PaymentState::Cancelled
    );

    let poor = rig.create("20.00");
    let answer = submit(
        &rig,
        &poor,
        LOW_BALANCE_WALLET,
        SANDBOX_OTP,
        SANDBOX_PIN,
        "confirm",
    );
    assert_eq!(answer.status, 303);
    assert!(answer
        .header("Location")
        .unwrap()
        .contains("&status=failure&"));
    assert_eq!(rig.sim.payment(&poor).unwrap().state, PaymentState::Failed);
}
