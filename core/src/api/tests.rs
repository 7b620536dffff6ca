use super::*;

fn request() -> CreateSessionRequest {
    CreateSessionRequest {
        order_id: "order-1001".into(),
        amount: "100.50".into(),
        currency: Currency::BDT,
        description: "Two cups of tea".into(),
        customer_id: "cus_42".into(),
        methods: vec![PaymentMethod::Balance],
        return_url: "https://shop.example/thanks".into(),
        expires_in_s: None,
        wechat_openid: None,
        capture: None,
    }
}

#[test]
fn a_complete_request_validates_with_the_default_ttl() {
    let valid = request().validate(false).unwrap();
    assert_eq!(valid.amount.amount_minor(), 10_050);
    assert_eq!(valid.ttl_s, DEFAULT_SESSION_TTL_S);
}

#[test]
fn each_bad_field_is_named() {
    type Mutate = fn(&mut CreateSessionRequest);
    let cases: [(&str, Mutate); 14] = [
        ("methods", |r| r.methods = vec![PaymentMethod::WechatPay]),
        ("methods", |r| {
            r.currency = Currency::CNY;
            r.methods = vec![PaymentMethod::Balance, PaymentMethod::Bkash]
        }),
        ("wechat_openid", |r| {
            r.wechat_openid = Some("o-has space".into())
        }),
        ("order_id", |r| r.order_id = String::new()),
        ("order_id", |r| r.order_id = "has space".into()),
        ("customer_id", |r| r.customer_id = "x".repeat(65)),
        ("amount", |r| r.amount = "1.234".into()),
        ("amount", |r| r.amount = "-5".into()),
        ("description", |r| r.description = "  ".into()),
        ("methods", |r| r.methods.clear()),
        ("methods", |r| {
            r.methods = vec![PaymentMethod::Balance, PaymentMethod::Balance]
        }),
        ("return_url", |r| {
            r.return_url = "http://shop.example/".into()
        }),
        ("return_url", |r| {
            r.return_url = "javascript:alert(1)".into()
        }),
        ("expires_in_s", |r| r.expires_in_s = Some(10)),
    ];
    for (param, mutate) in cases {
        let mut r = request();
        mutate(&mut r);
        let error = r.validate(false).unwrap_err();
        assert_eq!(error.param, param, "{r:?}");
        assert_eq!(error.code, ErrorCode::InvalidParameter);
    }
}

#[test]
fn local_http_return_urls_are_allowed_for_development() {
    for url in ["http://localhost:8787/done", "http://127.0.0.1/x"] {
        let mut r = request();
        r.return_url = url.into();
        assert!(r.validate(false).is_ok(), "{url}");
    }
    let mut r = request();
    r.return_url = "http://localhost.evil.example/".into();
    assert!(r.validate(false).is_err());
}

#[test]
fn unknown_fields_are_refused() {
    let json = r#"{"order_id":"o1","amount":"1.00","currency":"BDT","description":"d",
        "customer_id":"c","methods":["balance"],"return_url":"https://x.example","ammount":"2"}"#;
    let error = serde_json::from_str::<CreateSessionRequest>(json).unwrap_err();
    assert!(error.to_string().contains("ammount"), "{error}");
}

#[test]
fn unknown_methods_and_currencies_are_refused() {
    assert!(serde_json::from_str::<PaymentMethod>("\"paypal\"").is_err());
    assert!(serde_json::from_str::<Currency>("\"USD\"").is_err());
    assert_eq!(
        serde_json::from_str::<PaymentMethod>("\"wechat_pay\"").unwrap(),
        PaymentMethod::WechatPay
    );
}

#[test]
fn idempotency_keys_have_a_strict_shape() {
    assert!(check_idempotency_key("a1b2c3d4-e5f6").is_ok());
    for bad in [
        "short",
        "has space in it",
        &"k".repeat(65),
        "ключ-ключ-ключ",
    ] {
        assert!(check_idempotency_key(bad).is_err(), "{bad}");
    }
}

#[test]
fn each_provider_takes_its_own_currency_and_the_wallet_any() {
    let mut cny = request();
    cny.currency = Currency::CNY;
    cny.methods = vec![PaymentMethod::WechatPay, PaymentMethod::Balance];
    cny.wechat_openid = Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into());
    assert!(cny.validate(false).is_ok());
    assert!(!PaymentMethod::Bkash.accepts(Currency::CNY));
    assert!(PaymentMethod::Points.accepts(Currency::JPY));
}

#[test]
fn wechat_pay_params_use_wechats_field_names() {
    let action = NextAction::WechatJsapi {
        params: WechatJsapiParams {
            app_id: "wx8888888888888888".into(),
            time_stamp: "1414561699".into(),
            nonce_str: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into(),
            package: "prepay_id=wx201410272009395522657a690389285100".into(),
            sign_type: "RSA".into(),
            pay_sign: "c2ln".into(),
        },
    };
    let json = serde_json::to_value(&action).unwrap();
    assert_eq!(json["type"], "wechat_jsapi");
    for key in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(json["params"].get(key).is_some(), "{key} missing in {json}");
    }
    let pay: PayRequest =
        serde_json::from_str(r#"{"method":"wechat_pay","wechat_flow":"h5"}"#).unwrap();
    assert_eq!(pay.wechat_flow, Some(WechatFlow::H5));
}

#[test]
fn ids_refuse_separators_and_anything_ambiguous() {
    for good in ["acme", "cus_42", "order-1001", "a.b", "A9"] {
        assert!(check_id("id", good, 64).is_ok(), "{good}");
    }
    let long = "x".repeat(65);
    let bad = [
        "",
        "acme:outlet",
        "outlet:alice",
        ":",
        "a/b",
        "a b",
        "a%3Ab",
        "é",
        "a\nb",
        "a\u{0}b",
        long.as_str(),
    ];
    for bad in bad {
        let error = check_id("customer_id", bad, 64).unwrap_err();
        assert_eq!(error.param, "customer_id");
        if bad.len() > 1 {
            assert!(!error.message.contains(bad), "the message echoes {bad:?}");
        }
    }
}

#[test]
fn order_and_customer_ids_with_a_colon_are_refused() {
    let mut with_colon = request();
    with_colon.order_id = "outlet:1001".into();
    assert_eq!(with_colon.validate(false).unwrap_err().param, "order_id");
    let mut with_colon = request();
    with_colon.customer_id = "outlet:alice".into();
    assert_eq!(with_colon.validate(false).unwrap_err().param, "customer_id");
}

#[test]
fn list_pages_default_and_refuse_bad_limits_and_cursors() {
    assert_eq!(ListPage::parse(None, None).unwrap(), ListPage::default());
    let page = ListPage::parse(Some("5"), Some("17")).unwrap();
    assert_eq!((page.limit, page.starting_after), (5, Some(17)));
    for bad in ["0", "101", "-1", "ten", ""] {
        assert_eq!(ListPage::parse(Some(bad), None).unwrap_err().param, "limit");
    }
    for bad in ["-1", "x", "1.5"] {
        let error = ListPage::parse(None, Some(bad)).unwrap_err();
        assert_eq!(error.param, "starting_after");
        assert!(!error.message.contains(bad));
    }
}
