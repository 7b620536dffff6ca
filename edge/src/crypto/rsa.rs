//! RSA PKCS#1 v1.5 with SHA-256 ("SHA256withRSA"), as WeChat Pay signs and verifies everything.
//!
//! Runs in WebCrypto, not in wasm: an RSA-2048 signature is a modular exponentiation that the
//! runtime's BoringSSL does in native code, many times faster than a pure-Rust bignum in wasm (see
//! docs/benchmarks.md). Imported keys are cached for the isolate's life, so a PEM is parsed once.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use js_sys::{Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use sha2::{Digest, Sha256};

use super::{js_error, set, web_crypto};
use crate::error::{Error, Result};

thread_local! {
    /// Imported keys by their use and the SHA-256 of their DER; Workers run one thread per
    /// isolate.
    static KEYS: RefCell<HashMap<(&'static str, [u8; 32]), web_sys::CryptoKey>> = RefCell::new(HashMap::new());
}

const ALGORITHM: &str = "RSASSA-PKCS1-v1_5";

/// The DER inside a PEM block. Tolerates the literal `\n` escapes that single-line secret stores
/// leave in, and a bare base64 body without the armour lines.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    let unescaped = pem.replace("\\n", "\n");
    let body: String = unescaped
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    BASE64
        .decode(body)
        .map_err(|e| Error::Config(format!("a PEM key is not valid base64: {e}")))
}

/// Base64 of the signature of `message` by the PKCS#8 private key `pkcs8_der`.
pub async fn sign(pkcs8_der: &[u8], message: &str) -> Result<String> {
    let key = import(pkcs8_der, "pkcs8", "sign").await?;
    let promise = web_crypto()?
        .subtle()
        .sign_with_str_and_u8_array(ALGORITHM, &key, message.as_bytes())
        .map_err(js_error)?;
    let signature = JsFuture::from(promise).await.map_err(js_error)?;
    Ok(BASE64.encode(Uint8Array::new(&signature).to_vec()))
}

/// Whether `signature_b64` is a valid signature of `message` by the SPKI public key `spki_der`.
/// A signature that is not even base64 is simply invalid.
pub async fn verify(spki_der: &[u8], message: &str, signature_b64: &str) -> Result<bool> {
    let Ok(signature) = BASE64.decode(signature_b64.trim()) else {
        return Ok(false);
    };
    let key = import(spki_der, "spki", "verify").await?;
    let promise = web_crypto()?
        .subtle()
        .verify_with_str_and_u8_array_and_u8_array(ALGORITHM, &key, &signature, message.as_bytes())
        .map_err(js_error)?;
    let valid = JsFuture::from(promise).await.map_err(js_error)?;
    Ok(valid.as_bool().unwrap_or(false))
}

async fn import(der: &[u8], format: &str, usage: &'static str) -> Result<web_sys::CryptoKey> {
    let cache_key = (usage, <[u8; 32]>::from(Sha256::digest(der)));
    if let Some(key) = KEYS.with(|keys| keys.borrow().get(&cache_key).cloned()) {
        return Ok(key);
    }
    let algorithm = Object::new();
    set(&algorithm, "name", &JsValue::from_str(ALGORITHM))?;
    set(&algorithm, "hash", &JsValue::from_str("SHA-256"))?;
    let usages = js_sys::Array::of1(&JsValue::from_str(usage));
    let promise = web_crypto()?
        .subtle()
        .import_key_with_object(format, &Uint8Array::from(der), &algorithm, false, &usages)
        .map_err(|e| Error::Config(format!("an RSA {format} key cannot be imported: {e:?}")))?;
    let key: web_sys::CryptoKey = JsFuture::from(promise)
        .await
        .map_err(|e| Error::Config(format!("an RSA {format} key cannot be imported: {e:?}")))?
        .unchecked_into();
    KEYS.with(|keys| keys.borrow_mut().insert(cache_key, key.clone()));
    Ok(key)
}
