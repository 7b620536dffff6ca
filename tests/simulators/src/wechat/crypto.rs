//! WeChat Pay API v3 cryptography, both sides of it: SHA256withRSA (PKCS#1 v1.5) signatures over
//! WeChat's newline-joined messages, the `Authorization` header a merchant sends, and the
//! AES-256-GCM `encrypt-resource` of notifications.
//!
//! The messages are WeChat's "签名生成" / "签名验证" rules (pay.weixin.qq.com/doc/v3/merchant,
//! 4012365336 and 4013053249): a request signs `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n`,
//! an answer or notification `TIMESTAMP\nNONCE\nBODY\n`, and a JSAPI `paySign`
//! `appId\ntimeStamp\nnonceStr\npackage\n`. A notification's resource is AES-256-GCM with the
//! 32-byte APIv3 key, the 12-character `nonce` as IV and `associated_data` as AAD, sent as base64
//! of the ciphertext with the 16-byte tag appended ("证书和回调报文解密", 4012071382).
//!
//! Keys are PEM: PKCS#8 (`BEGIN PRIVATE KEY`) private keys and SPKI (`BEGIN PUBLIC KEY`) public
//! keys, the forms WeChat hands out (`apiclient_key.pem`, `pub_key.pem`). Fixed vectors made with
//! Node's crypto check all of this in `tests/vectors.rs`.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use crate::util::{random_string, ALNUM};

/// The `Authorization` scheme and `Wechatpay-Signature-Type` of API v3.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// A fresh RSA-2048 key pair as (PKCS#8 private PEM, SPKI public PEM). Slow (about a second):
/// generate once and reuse.
pub fn generate_rsa_keypair_pem() -> (String, String) {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
    let public = RsaPublicKey::from(&private);
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .expect("encode a private key")
        .to_string();
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .expect("encode a public key");
    (private_pem, public_pem)
}

/// A PKCS#8 private key ready to sign with SHA256withRSA.
pub(crate) fn signing_key(private_key_pem: &str) -> Result<SigningKey<Sha256>, String> {
    RsaPrivateKey::from_pkcs8_pem(private_key_pem.trim())
        .map(SigningKey::<Sha256>::new)
        .map_err(|e| format!("not a PKCS#8 RSA private key PEM: {e}"))
}

/// An SPKI public key ready to verify SHA256withRSA.
pub(crate) fn verifying_key(public_key_pem: &str) -> Result<VerifyingKey<Sha256>, String> {
    RsaPublicKey::from_public_key_pem(public_key_pem.trim())
        .map(VerifyingKey::<Sha256>::new)
        .map_err(|e| format!("not an SPKI RSA public key PEM: {e}"))
}

pub(crate) fn sign_with(key: &SigningKey<Sha256>, message: &str) -> String {
    BASE64.encode(key.sign(message.as_bytes()).to_bytes())
}

pub(crate) fn verify_with(key: &VerifyingKey<Sha256>, message: &str, signature_b64: &str) -> bool {
    let Ok(bytes) = BASE64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    key.verify(message.as_bytes(), &signature).is_ok()
}

/// Base64 of the PKCS#1 v1.5 SHA-256 signature of `message`; panics on a key that is not a
/// PKCS#8 RSA private key PEM (a test or configuration mistake).
pub fn sign_sha256_rsa(private_key_pem: &str, message: &str) -> String {
    let key = signing_key(private_key_pem).unwrap_or_else(|e| panic!("{e}"));
    sign_with(&key, message)
}

/// Whether `signature_b64` is `message` signed by the key of `public_key_pem`; false for a bad
/// key, bad base64 or a signature that does not verify.
pub fn verify_sha256_rsa(public_key_pem: &str, message: &str, signature_b64: &str) -> bool {
    verifying_key(public_key_pem).is_ok_and(|key| verify_with(&key, message, signature_b64))
}

/// What a merchant signs for a request: `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n`.
pub fn request_message(
    method: &str,
    path_with_query: &str,
    timestamp: &str,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// What WeChat signs for an answer or a notification: `TIMESTAMP\nNONCE\nBODY\n`.
pub fn response_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// What a JSAPI `paySign` signs: `appId\ntimeStamp\nnonceStr\npackage\n`.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
    format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n")
}

fn cipher(api_v3_key: &str) -> Option<Aes256Gcm> {
    Aes256Gcm::new_from_slice(api_v3_key.as_bytes()).ok()
}

/// Base64 of AES-256-GCM(`plaintext`) with the tag appended. The key must be 32 bytes and the
/// nonce 12 (WeChat's are 32 and 12 ASCII characters); anything else panics.
pub fn encrypt_resource(
    api_v3_key: &str,
    nonce: &str,
    associated_data: &str,
    plaintext: &str,
) -> String {
    assert_eq!(nonce.len(), 12, "WeChat's resource nonce is 12 bytes");
    let cipher = cipher(api_v3_key).expect("the APIv3 key is 32 bytes");
    let payload = Payload {
        msg: plaintext.as_bytes(),
        aad: associated_data.as_bytes(),
    };
    let sealed = cipher
        .encrypt(Nonce::from_slice(nonce.as_bytes()), payload)
        .expect("AES-GCM encryption");
    BASE64.encode(sealed)
}

/// The plaintext of a notification resource, or `None` if the key, nonce, associated data or
/// ciphertext is wrong (the tag does not match) or the plaintext is not UTF-8.
pub fn decrypt_resource(
    api_v3_key: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Option<String> {
    if nonce.len() != 12 {
        return None;
    }
    let sealed = BASE64.decode(ciphertext_b64.trim()).ok()?;
    let payload = Payload {
        msg: &sealed,
        aad: associated_data.as_bytes(),
    };
    let plain = cipher(api_v3_key)?
        .decrypt(Nonce::from_slice(nonce.as_bytes()), payload)
        .ok()?;
    String::from_utf8(plain).ok()
}

/// A merchant's `Authorization` header for a request signed now, with a fresh 32-character
/// nonce: `WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."`.
pub fn authorization_header(
    mchid: &str,
    serial_no: &str,
    private_key_pem: &str,
    method: &str,
    path_with_query: &str,
    body: &str,
) -> String {
    let timestamp = crate::util::unix_seconds().to_string();
    let nonce = random_string(32, ALNUM);
    let message = request_message(method, path_with_query, &timestamp, &nonce, body);
    let signature = sign_sha256_rsa(private_key_pem, &message);
    authorization_value(mchid, serial_no, &nonce, &timestamp, &signature)
}

/// The header value from its parts (for tests that forge stale or mis-signed requests).
pub fn authorization_value(
    mchid: &str,
    serial_no: &str,
    nonce: &str,
    timestamp: &str,
    signature: &str,
) -> String {
    format!(
        "{SCHEME} mchid=\"{mchid}\",nonce_str=\"{nonce}\",signature=\"{signature}\",\
         timestamp=\"{timestamp}\",serial_no=\"{serial_no}\""
    )
}

/// The `Wechatpay-*` headers WeChat puts on an answer or a notification: a fresh 32-character
/// nonce, the signature over `TIMESTAMP\nNONCE\nBODY\n`, and the key's serial. With `corrupt`
/// the signature is a real one over a different message, so it is well formed but never verifies.
pub(crate) fn wechatpay_headers(
    key: &SigningKey<Sha256>,
    serial: &str,
    timestamp: i64,
    body: &str,
    corrupt: bool,
) -> Vec<(String, String)> {
    let timestamp = timestamp.to_string();
    let nonce = random_string(32, ALNUM);
    let signed_body = if corrupt {
        format!("{body} ")
    } else {
        body.to_owned()
    };
    let signature = sign_with(key, &response_message(&timestamp, &nonce, &signed_body));
    vec![
        ("Wechatpay-Nonce".into(), nonce),
        ("Wechatpay-Signature".into(), signature),
        ("Wechatpay-Timestamp".into(), timestamp),
        ("Wechatpay-Serial".into(), serial.to_owned()),
        ("Wechatpay-Signature-Type".into(), SCHEME.into()),
    ]
}

/// The `key="value"` pairs of an `Authorization` header, after checking its scheme; `None` when
/// the scheme is not WeChat's. Pairs may come in any order, with spaces after the commas.
pub(crate) fn parse_authorization(header: &str) -> Option<Vec<(String, String)>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if scheme != SCHEME {
        return None;
    }
    let mut pairs = Vec::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.strip_prefix('"')?;
        let (value, tail) = after.split_once('"')?;
        pairs.push((key.trim().to_owned(), value.to_owned()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_pairs_parse_in_any_order() {
        let header = format!("{SCHEME} serial_no=\"AB\", mchid=\"1900009191\",nonce_str=\"n\",signature=\"s/+=\",timestamp=\"1\"");
        let pairs = parse_authorization(&header).unwrap();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mchid"), Some("1900009191"));
        assert_eq!(get("serial_no"), Some("AB"));
        assert_eq!(get("signature"), Some("s/+="));
        assert_eq!(parse_authorization("Bearer x"), None);
        assert_eq!(parse_authorization(&format!("{SCHEME} mchid=1")), None);
    }

    #[test]
    fn resources_round_trip_and_bind_their_associated_data() {
        let key = "0123456789abcdefghijklmnopqrstuv";
        let sealed = encrypt_resource(key, "abcdefghijkl", "transaction", "{\"a\":1}");
        assert_eq!(
            decrypt_resource(key, "abcdefghijkl", "transaction", &sealed).as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(
            decrypt_resource(key, "abcdefghijkl", "refund", &sealed),
            None
        );
        assert_eq!(decrypt_resource("short", "abcdefghijkl", "", &sealed), None);
    }
}
