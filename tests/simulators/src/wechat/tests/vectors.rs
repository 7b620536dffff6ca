//! Fixed vectors computed independently with Node's crypto (v20), run in `testdata/`:
//!
//! Signatures (PKCS#1 v1.5 is deterministic, so ours must match byte for byte):
//! ```text
//! node -e 'const c=require("crypto"),f=require("fs"),k=f.readFileSync("test_merchant_private_key.pem"),s=m=>c.sign("sha256",Buffer.from(m),k).toString("base64");console.log(s("GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"));console.log(s("POST\n/v3/pay/transactions/native\n1700000000\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n{\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1900009191\",\"description\":\"Image形象店-深圳腾大-QQ公仔\",\"out_trade_no\":\"1217752501201407033233368018\",\"notify_url\":\"https://www.weixin.qq.com/wxpay/pay.php\",\"amount\":{\"total\":100,\"currency\":\"CNY\"}}\n"));console.log(s("wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n"))'
//! ```
//! AES-256-GCM (ciphertext with the 16-byte tag appended, base64):
//! ```text
//! node -e 'const c=require("crypto"),g=c.createCipheriv("aes-256-gcm",Buffer.from("0123456789abcdefghijklmnopqrstuv"),Buffer.from("fdasflkja484"));g.setAAD(Buffer.from("transaction"));const o=Buffer.concat([g.update(Buffer.from("{\"out_trade_no\":\"order_123456\",\"trade_state\":\"SUCCESS\",\"summary\":\"支付成功\"}")),g.final(),g.getAuthTag()]);console.log(o.toString("base64"))'
//! ```
//! The GET message is the example in WeChat's signature documentation; the paySign message uses
//! the appId, timeStamp, nonceStr and package of WeChat's JSAPI example.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::{MERCHANT_PRIVATE, MERCHANT_PUBLIC, PLATFORM_PUBLIC};
use crate::wechat::crypto::{
    decrypt_resource, encrypt_resource, generate_rsa_keypair_pem, pay_sign_message,
    request_message, response_message, sign_sha256_rsa, verify_sha256_rsa,
};

const GET_SIGNATURE: &str = "g6IhWeCnPgScorH/+ddevoE2QIobMOu4/a1jFv4NPJ5mZhNC+VkQBlJu9y3/G0x1De1CyuDKbTS20ctPicyfq7LDpjeO8/VnDl/EaqOuWkrCmyzbwDDE0v6Kk+f2GJnc+4bTk1o8S5Qq8lStcEjkEzbteqxg4HtRNIii3JMRUgw8Dw0MJ2lXlYmcrwQw21mvgYpRqnR5zKsTLLmJ0jB8MgMfl2fY3w6YCpmg7Yt4JHYKxCULn0HKYqXABTCgf3hHFhQ4zepouqI0bvDPh00/NDAInTNMaq0IS3XjgIs43br+aYLO5oeO+EqeCoX+FJPTysfVPx1gsWSyIwbkjkdyKQ==";
const POST_SIGNATURE: &str = "ABij1/fPRdish75F+Tgx+qQ0JayRqLCi3EotcDIUyqP/9aJyfFZBHnSlOMQjBtvy0hHiZV3u5wTKY3ZG43xbXLviyP8eT+uivx9D4zjbIf+3v3952noy5+zy7KwoOLpmKR9+OeRmXdLN61RKUXXW8EIWxAWU0N8byFhseo9NJMvIiLu/1e5pTgAPnd7paxI2wOJSnni2Uqp2obSDBuePyep6+qq9r+9lI0alZn666ZBgkIAvkJKUqRdjwRWPN3G5OZOlItSdqWRbRvOQ71p0KwWtOrgD5DrZ0LvChCPewDo8qzqDmZBtdYgwlI8eXbJ7bbt3AnbkxjZLeB1+zne9Sw==";
const PAY_SIGNATURE: &str = "c5+YCipa8FN8Nm4ofkAcbYFbmTh2u8O5E19/LkSUIL07oD6qqppdmSrLwe0i6nTtXazCfGRHIgy3PDrUjOZHnf+YGMCs2lIqUITTO3N0ujHFp8xGyXyNC4iwhTfvdn8fb8VwVZavEpjrpnQJQckqo8dGun5asjwBI452FAFyaYtb/CzawtEU3uaamjvlvatABYzuw2t45xdH5lJT+kfD2jrvojK48ksiId4tyTwZWKwc5LjTSZdWsAb/+F34pzYt6M64vrDRs2ZvpPtCu+62+zgp4Vr30tcobi10vs3Hu53nYvOhVBbPG4bn8F85z3uoSLeceJ3VRyf85RE6sdgqQA==";

const AES_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
const AES_NONCE: &str = "fdasflkja484";
const AES_PLAINTEXT: &str =
    "{\"out_trade_no\":\"order_123456\",\"trade_state\":\"SUCCESS\",\"summary\":\"支付成功\"}";
const AES_CIPHERTEXT: &str = "kdUw5hwyZ7EmqIvJoZVgiwezJipqVQk9c4sPip2lWC0x3iM1breTC7i98sTIQ/G82VCq/Cq5Gb6oAoa0iPYOUCKi3sYqPnUahZzkDQWvJrWo6Gw8nbwIrLTwKN25LYLk";

fn messages() -> [(String, &'static str); 3] {
    let body = r#"{"appid":"wxd678efh567hg6787","mchid":"1900009191","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"}}"#;
    [
        (
            request_message(
                "GET",
                "/v3/certificates",
                "1554208460",
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                "",
            ),
            GET_SIGNATURE,
        ),
        (
            request_message(
                "POST",
                "/v3/pay/transactions/native",
                "1700000000",
                "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                body,
            ),
            POST_SIGNATURE,
        ),
        (
            pay_sign_message(
                "wx8888888888888888",
                "1414561699",
                "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
                "prepay_id=wx201410272009395522657a690389285100",
            ),
            PAY_SIGNATURE,
        ),
    ]
}

#[test]
fn messages_are_newline_terminated_lines() {
    assert_eq!(
        messages()[0].0,
        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    );
    assert!(messages()[2]
        .0
        .ends_with("prepay_id=wx201410272009395522657a690389285100\n"));
    assert_eq!(
        response_message(
            "1554209980",
            "c5ac7061fccab6bf3e254dcf98995b8c",
            "{\"a\":1}"
        ),
        "1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{\"a\":1}\n"
    );
    assert_eq!(
        response_message("1", "n", ""),
        "1\nn\n\n",
        "a 204 signs an empty body"
    );
}

#[test]
fn signatures_match_nodes_byte_for_byte() {
    for (message, expected) in messages() {
        assert_eq!(
            sign_sha256_rsa(MERCHANT_PRIVATE, &message),
            expected,
            "{message}"
        );
        assert!(verify_sha256_rsa(MERCHANT_PUBLIC, &message, expected));
    }
}

#[test]
fn a_one_bit_change_or_another_key_fails_verification() {
    for (message, expected) in messages() {
        let mut bytes = BASE64.decode(expected).unwrap();
        bytes[17] ^= 0x01;
        assert!(!verify_sha256_rsa(
            MERCHANT_PUBLIC,
            &message,
            &BASE64.encode(&bytes)
        ));
        let mut altered = message.clone().into_bytes();
        altered[0] ^= 0x01;
        let altered = String::from_utf8(altered).unwrap();
        assert!(!verify_sha256_rsa(MERCHANT_PUBLIC, &altered, expected));
        assert!(!verify_sha256_rsa(PLATFORM_PUBLIC, &message, expected));
        assert!(!verify_sha256_rsa(MERCHANT_PUBLIC, &message, "not base64!"));
    }
}

#[test]
fn resources_match_nodes_aes_gcm() {
    assert_eq!(
        encrypt_resource(AES_KEY, AES_NONCE, "transaction", AES_PLAINTEXT),
        AES_CIPHERTEXT
    );
    assert_eq!(
        decrypt_resource(AES_KEY, AES_NONCE, "transaction", AES_CIPHERTEXT).as_deref(),
        Some(AES_PLAINTEXT)
    );
    let wrong_key = "0123456789abcdefghijklmnopqrstuw";
    assert_eq!(
        decrypt_resource(wrong_key, AES_NONCE, "transaction", AES_CIPHERTEXT),
        None
    );
    assert_eq!(
        decrypt_resource(AES_KEY, AES_NONCE, "refund", AES_CIPHERTEXT),
        None
    );
    assert_eq!(
        decrypt_resource(AES_KEY, "fdasflkja485", "transaction", AES_CIPHERTEXT),
        None
    );
    let mut tampered = BASE64.decode(AES_CIPHERTEXT).unwrap();
    tampered[0] ^= 0x80;
    assert_eq!(
        decrypt_resource(AES_KEY, AES_NONCE, "transaction", &BASE64.encode(tampered)),
        None
    );
}

#[test]
fn generated_key_pairs_sign_and_verify() {
    let (private, public) = generate_rsa_keypair_pem();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    let signature = sign_sha256_rsa(&private, "hello\n");
    assert_eq!(BASE64.decode(&signature).unwrap().len(), 256);
    assert!(verify_sha256_rsa(&public, "hello\n", &signature));
    assert!(!verify_sha256_rsa(MERCHANT_PUBLIC, "hello\n", &signature));
}
