//! Randomness, hashing, the pay-password KDF, RSA signatures and AES-GCM, on the Workers
//! runtime's WebCrypto.
//!
//! PBKDF2 runs in WebCrypto (native code) rather than in wasm: it is the slow step of a balance
//! payment, and the runtime's implementation costs a fraction of a pure-Rust one in CPU time.
//! Its input is the password mixed with the Worker's pepper ([`pepper`]).

use js_sys::{Object, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

pub mod aead;
pub mod pepper;
pub mod rsa;

/// PBKDF2-HMAC-SHA256 iterations for peppered pay passwords.
///
/// A pay password is a 6-digit PIN: 10^6 candidates. No iteration count a payment can afford
/// protects that space on its own: at workerd's maximum (100,000) a leaked row falls to a GPU in
/// minutes, while costing ~22 ms of CPU per payment (69% of it). The protection is elsewhere:
/// offline, the pepper (256 bits in a Worker secret, never in storage) makes a copy of storage
/// alone useless; online, the wallet's escalating lockout bounds guesses to 15 a day and 20 in
/// all. The KDF only adds work for an attacker who holds both the storage and the pepper. 2,000
/// iterations cost 0.1 to 0.4 ms per entry in workerd (docs/benchmarks.md, 2026-12-07), inside
/// the 2 ms per payment budget; 100,000 cost 4 to 22 ms.
pub const PBKDF2_ITERATIONS: u32 = 2_000;

/// The iterations of hashes made before the pepper (PBKDF2 of the bare password), verified and
/// then upgraded at their next correct entry.
pub const LEGACY_PBKDF2_ITERATIONS: u32 = 100_000;

/// The runtime's `crypto`, looked up once per isolate (a `Reflect.get` on the global object with a
/// new JS string was 3% of `/healthz`'s profile, for the request id alone); a failed lookup is
/// not kept.
pub(crate) fn web_crypto() -> Result<web_sys::Crypto> {
    thread_local! {
        static CRYPTO: std::cell::RefCell<Option<web_sys::Crypto>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(crypto) = CRYPTO.with(|c| c.borrow().clone()) {
        return Ok(crypto);
    }
    let crypto: web_sys::Crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| Error::Config("globalThis.crypto is missing".into()))?
        .unchecked_into();
    CRYPTO.with(|c| c.replace(Some(crypto.clone())));
    Ok(crypto)
}

/// `len` bytes from the runtime's CSPRNG.
pub fn random_bytes(len: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0_u8; len];
    web_crypto()?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(|_| Error::Config("crypto.getRandomValues failed".into()))?;
    Ok(bytes)
}

/// A random identifier of `len` characters from `[0-9A-Za-z]` (about 5.95 bits each).
pub fn random_id(len: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps the draw uniform.
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes(len * 2)? {
            if byte < 248 && out.len() < len {
                out.push(ALPHABET[(byte % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ (hashing first hides lengths).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

/// PBKDF2-HMAC-SHA256 of `password` with `salt`, 32 bytes, through WebCrypto.
pub async fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Result<Vec<u8>> {
    let subtle = web_crypto()?.subtle();
    let key_data = Uint8Array::from(password);
    let usages = js_sys::Array::of1(&JsValue::from_str("deriveBits"));
    let import = subtle
        .import_key_with_str("raw", &key_data, "PBKDF2", false, &usages)
        .map_err(js_error)?;
    let key: web_sys::CryptoKey = JsFuture::from(import)
        .await
        .map_err(js_error)?
        .unchecked_into();
    let params = Object::new();
    set(&params, "name", &JsValue::from_str("PBKDF2"))?;
    set(&params, "hash", &JsValue::from_str("SHA-256"))?;
    set(&params, "salt", &Uint8Array::from(salt))?;
    set(&params, "iterations", &JsValue::from(iterations))?;
    let derive = subtle
        .derive_bits_with_object(&params, &key, 256)
        .map_err(js_error)?;
    let bits = JsFuture::from(derive).await.map_err(js_error)?;
    Ok(Uint8Array::new(&bits).to_vec())
}

pub(crate) fn set(target: &Object, key: &str, value: &JsValue) -> Result<()> {
    Reflect::set(target, &JsValue::from_str(key), value).map_err(js_error)?;
    Ok(())
}

pub(crate) fn js_error(value: JsValue) -> Error {
    Error::Invariant(format!("webcrypto: {value:?}"))
}
