//! Browser: the demo shop paid with WeChat Pay through the simulator, in headless Chromium. On a
//! desktop the widget draws the Native QR code and flips to paid once the "phone" (the
//! simulator's scan page, in another tab) approves; on a phone it redirects to WeChat's H5 page
//! and resumes from the session's real status on return.

use std::time::Duration;

use checkout_simulators::wechat::RunningWechat;
use checkout_tests::shop::BrowserShop;

const WAIT: Duration = Duration::from_secs(25);
const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                       (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";

type Shop = BrowserShop<RunningWechat>;

#[test]
fn a_desktop_shopper_scans_the_qr_code_and_the_widget_flips_to_paid() {
    let shop = Shop::at_wechat_checkout("browser-wechat-native", 1280, None);
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    let qr = b.wait_for("[data-testid=wechat-qr]", WAIT);
    let code_url = b
        .attribute(&qr, "data-code-url")
        .expect("the QR carries its code_url");
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    let drawn = b.script(
        "const host = document.querySelector('#checkout');\
         const path = host.shadowRoot.querySelector('[data-testid=wechat-qr] path');\
         return path.getAttribute('d').split('M').length - 1;",
        vec![],
    );
    assert!(
        drawn.as_u64().unwrap() > 200,
        "a real QR has hundreds of modules: {drawn}"
    );
    shop.screenshot("wechat-qr-1280");

    // The shopper's phone: the simulator's page for the scanned code, in another tab.
    let shop_tab = b.open_tab();
    let encoded: String = code_url
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect();
    b.goto(&format!("{}/scan?code_url={encoded}", shop.sim.origin()));
    b.click(&b.wait_for("#approve", WAIT));
    b.wait_for("#result", WAIT);
    b.switch_to(&shop_tab);

    b.wait_for("[data-testid=result-success]", WAIT);
    shop.screenshot("wechat-paid-1280");
    let out_trade_no = code_url_order(&shop);
    let order = shop.sim.order(&out_trade_no).expect("the order at WeChat");
    assert!(order.transaction_id.is_some());
    b.wait_until(
        "the back office shows the order paid",
        "return document.querySelector('[data-testid=merchant-status]')?.textContent === 'PAID'",
        WAIT,
    );
}

/// The one order the simulator holds in this test.
fn code_url_order(shop: &Shop) -> String {
    let deliveries = shop.sim.deliveries();
    deliveries
        .first()
        .map(|d| d.out_trade_no.clone())
        .expect("a notification was sent for the paid order")
}

#[test]
fn a_phone_shopper_pays_on_wechats_h5_page_and_returns_to_a_paid_order() {
    let shop = Shop::at_wechat_checkout("browser-wechat-h5", 375, Some(ANDROID));
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    // Sent to WeChat's H5 page (the simulator's), which plays the WeChat app's confirmation.
    let approve = b.wait_for("#approve", WAIT);
    shop.screenshot("wechat-h5-page-375");
    b.click(&approve);
    b.wait_for("[data-testid=result-success]", WAIT);
    shop.screenshot("wechat-h5-paid-375");
    let id = shop.returned_session_id();
    assert_eq!(shop.merchant_view(&id)["status"], "paid");
}

#[test]
fn inside_wechat_the_widget_opens_the_pay_sheet_and_flips_to_paid() {
    const IN_WECHAT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47";
    let shop = Shop::at_wechat_checkout("browser-wechat-jsapi", 375, Some(IN_WECHAT));
    let b = &shop.browser;
    // WeChat's in-app browser injects WeixinJSBridge; this one records what the widget hands it
    // and answers as the pay sheet does once the shopper confirms.
    b.script(
        "window.__paySheet = null;\
         window.WeixinJSBridge = { invoke: function (name, params, done) {\
           window.__paySheet = { name: name, params: params };\
           setTimeout(function () { done({ err_msg: 'get_brand_wcpay_request:ok' }); }, 0); } };",
        vec![],
    );
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    b.wait_until(
        "the widget calls WeChat's bridge",
        "return window.__paySheet !== null",
        WAIT,
    );
    let sheet = b.script("return window.__paySheet", vec![]);
    assert_eq!(sheet["name"], "getBrandWCPayRequest");
    // The simulator plays the pay sheet: it checks paySign with the merchant's public key.
    shop.sim
        .jsapi_pay(&sheet["params"])
        .expect("the simulator accepts the signed pay-sheet parameters");
    b.wait_for("[data-testid=result-success]", WAIT);
    shop.screenshot("wechat-jsapi-paid-375");
}
