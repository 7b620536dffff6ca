//! The cryptography a WeChat Pay request costs, done the pure-Rust way (RustCrypto's `rsa` and
//! `aes-gcm`), exported to JavaScript so `cargo xtask bench` can time it in V8's wasm, the
//! engine that runs the Worker, beside the runtime's WebCrypto doing the same work.
//!
//! The edge does not use this path for RSA and AES-GCM: the figures it prints are why
//! (docs/benchmarks.md). For Stripe's webhook signature it does ([`stripe_signature_verify`]
//! is the same HMAC-SHA256 with RustCrypto's `hmac` and a `subtle` comparison as
//! `edge/src/connectors/stripe/signature.rs`), timed beside WebCrypto's HMAC.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use wasm_bindgen::prelude::*;

/// Signs `message` `times` times with the PKCS#8 PEM key; returns the last signature (base64).
#[wasm_bindgen]
pub fn rsa_sign(private_key_pem: &str, message: &str, times: u32) -> Result<String, JsError> {
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem)?;
    let signer = SigningKey::<Sha256>::new(key);
    let mut last = Vec::new();
    for _ in 0..times {
        last = signer.sign(message.as_bytes()).to_vec();
    }
    Ok(BASE64.encode(last))
}

/// Verifies `signature_b64` over `message` `times` times; returns whether it verified.
#[wasm_bindgen]
pub fn rsa_verify(
    public_key_pem: &str,
    message: &str,
    signature_b64: &str,
    times: u32,
) -> Result<bool, JsError> {
    let key = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(public_key_pem)?);
    let signature = Signature::try_from(BASE64.decode(signature_b64)?.as_slice())?;
    let mut valid = false;
    for _ in 0..times {
        valid = key.verify(message.as_bytes(), &signature).is_ok();
    }
    Ok(valid)
}

/// Encrypts `plaintext` once (base64 of ciphertext and tag), for the decryption bench.
#[wasm_bindgen]
pub fn aes_gcm_encrypt(
    key: &str,
    nonce: &str,
    aad: &str,
    plaintext: &str,
) -> Result<String, JsError> {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes())?;
    let payload = Payload {
        msg: plaintext.as_bytes(),
        aad: aad.as_bytes(),
    };
    let sealed = cipher
        .encrypt(Nonce::from_slice(nonce.as_bytes()), payload)
        .map_err(|_| JsError::new("encryption failed"))?;
    Ok(BASE64.encode(sealed))
}

/// Decrypts `ciphertext_b64` `times` times; returns the plaintext's length.
#[wasm_bindgen]
pub fn aes_gcm_decrypt(
    key: &str,
    nonce: &str,
    aad: &str,
    ciphertext_b64: &str,
    times: u32,
) -> Result<usize, JsError> {
    let cipher = Aes256Gcm::new_from_slice(key.as_bytes())?;
    let sealed = BASE64.decode(ciphertext_b64)?;
    let mut length = 0;
    for _ in 0..times {
        let payload = Payload {
            msg: &sealed,
            aad: aad.as_bytes(),
        };
        length = cipher
            .decrypt(Nonce::from_slice(nonce.as_bytes()), payload)
            .map_err(|_| JsError::new("decryption failed"))?
            .len();
    }
    Ok(length)
}

/// Verifies a Stripe `v1` signature (`signature_hex`, 64 hex digits) over `"{timestamp}.{body}"`
/// with the endpoint secret, `times` times, as the edge does: HMAC-SHA256 in wasm, compared in
/// constant time. Returns whether it matched.
#[wasm_bindgen]
pub fn stripe_signature_verify(
    secret: &str,
    timestamp: &str,
    body: &str,
    signature_hex: &str,
    times: u32,
) -> Result<bool, JsError> {
    if signature_hex.len() != 64 {
        return Err(JsError::new("a v1 signature has 64 hex digits"));
    }
    let mut expected = [0_u8; 32];
    for (byte, pair) in expected
        .iter_mut()
        .zip(signature_hex.as_bytes().chunks_exact(2))
    {
        let text = std::str::from_utf8(pair).map_err(|_| JsError::new("not hex"))?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| JsError::new("not hex"))?;
    }
    let mut valid = false;
    for _ in 0..times {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
            .map_err(|_| JsError::new("an HMAC key of any length is accepted"))?;
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        valid = bool::from(mac.finalize().into_bytes().ct_eq(&expected));
    }
    Ok(valid)
}
