//! AES-256-GCM decryption, as WeChat Pay encrypts the resource of every notification.
//!
//! In WebCrypto, like the RSA calls: native AES-GCM is effectively free next to the request.

use js_sys::{Object, Uint8Array};
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
    let usages = js_sys::Array::of1(&JsValue::from_str("decrypt"));
    let import = subtle
        .import_key_with_str("raw", &Uint8Array::from(key), "AES-GCM", false, &usages)
        .map_err(js_error)?;
    let key: web_sys::CryptoKey = JsFuture::from(import)
        .await
        .map_err(js_error)?
        .unchecked_into();
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
