//! AES-256-GCM decryption, as WeChat Pay encrypts the resource of every notification.
//!
//! In WebCrypto, like the RSA calls: native AES-GCM is effectively free next to the request.
//! The imported key is kept for the isolate's life (by the SHA-256 of its bytes), so a
//! notification costs one `decrypt`, not an `importKey` and a `decrypt`.

use std::cell::RefCell;

use js_sys::{Object, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{js_error, set, web_crypto};
use crate::error::{Error, Result};

/// The plaintext of `ciphertext` (which ends with the 16-byte tag), or `None` when the key, the
/// nonce, the associated data or the ciphertext is wrong: the tag does not authenticate.
pub async fn decrypt_aes_256_gcm(
    key: &[u8],
    nonce: &[u8],
    associated_data: &[u8],
    ciphertext: &[u8],
) -> Result<Option<Vec<u8>>> {
    if key.len() != 32 {
        return Err(Error::Config(format!(
            "an AES-256 key has 32 bytes, not {}",
            key.len()
        )));
    }
    let subtle = web_crypto()?.subtle();
    let key = import(&subtle, key).await?;
    let algorithm = Object::new();
    set(&algorithm, "name", &JsValue::from_str("AES-GCM"))?;
    set(&algorithm, "iv", &Uint8Array::from(nonce))?;
    set(
        &algorithm,
        "additionalData",
        &Uint8Array::from(associated_data),
    )?;
    set(&algorithm, "tagLength", &JsValue::from(128))?;
    let promise = subtle
        .decrypt_with_object_and_u8_array(&algorithm, &key, ciphertext)
        .map_err(js_error)?;
    // WebCrypto rejects with an OperationError when the tag does not authenticate.
    Ok(JsFuture::from(promise)
        .await
        .ok()
        .map(|plain| Uint8Array::new(&plain).to_vec()))
}

thread_local! {
    /// Imported AES-GCM keys by the SHA-256 of their bytes (a Worker has one or two: test, live).
    static KEYS: RefCell<Vec<([u8; 32], web_sys::CryptoKey)>> = const { RefCell::new(Vec::new()) };
}

async fn import(subtle: &web_sys::SubtleCrypto, key: &[u8]) -> Result<web_sys::CryptoKey> {
    let digest = <[u8; 32]>::from(Sha256::digest(key));
    let known = KEYS.with(|keys| {
        keys.borrow()
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, k)| k.clone())
    });
    if let Some(known) = known {
        return Ok(known);
    }
    let usages = js_sys::Array::of1(&JsValue::from_str("decrypt"));
    let import = subtle
        .import_key_with_str("raw", &Uint8Array::from(key), "AES-GCM", false, &usages)
        .map_err(js_error)?;
    let imported: web_sys::CryptoKey = JsFuture::from(import)
        .await
        .map_err(js_error)?
        .unchecked_into();
    KEYS.with(|keys| keys.borrow_mut().push((digest, imported.clone())));
    Ok(imported)
}
