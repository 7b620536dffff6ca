//! The pay-password pepper: a Worker secret mixed into every pay-password hash, so a copy of the
//! wallets' storage alone cannot be brute-forced offline.
//!
//! `PAY_PASSWORD_PEPPERS` holds the peppers by key id, one marked current:
//! `{"current":"p2","peppers":{"p1":"<old secret>","p2":"<new secret>"}}`. A password is hashed
//! as PBKDF2-HMAC-SHA256 over `HMAC-SHA256(pepper, password)` (the "pepper then KDF" construction
//! of OWASP's Password Storage Cheat Sheet), and its row records the key id and the iterations.
//! To rotate, add a new key id and make it current: rows under the old id still verify and are
//! re-hashed under the current one at their next correct entry. A key id may be removed only once
//! no row uses it; a row whose key id is gone is a configuration error, never an accepted password.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use worker::Env;

use crate::config::Secret;
use crate::error::{Error, Result};

/// The Worker variable that holds the peppers.
pub const PEPPERS_VAR: &str = "PAY_PASSWORD_PEPPERS";

/// A pepper must carry at least 256 bits: 43 base64 or base62 characters.
const MIN_PEPPER_LEN: usize = 43;

/// The configured peppers and the current key id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peppers {
    current: String,
    peppers: BTreeMap<String, Secret>,
}

impl Peppers {
    /// The peppers from the Worker's environment; `None` when none are configured.
    pub fn from_env(env: &Env) -> Result<Option<Peppers>> {
        match crate::config::read(env, PEPPERS_VAR)? {
            None => Ok(None),
            Some(text) => Peppers::parse(text.expose()).map(Some),
        }
    }

    /// Parses and checks the variable; the error names what is wrong, never a secret.
    pub fn parse(text: &str) -> Result<Peppers> {
        let peppers: Peppers = serde_json::from_str(text).map_err(|e| {
            Error::Config(format!(
                "{PEPPERS_VAR} is not {{\"current\":..,\"peppers\":{{..}}}} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        for (kid, secret) in &peppers.peppers {
            let kid_ok = !kid.is_empty()
                && kid.len() <= 32
                && kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !kid_ok {
                return Err(Error::Config(format!(
                    "{PEPPERS_VAR}: a key id must be 1 to 32 of [A-Za-z0-9_-]"
                )));
            }
            if secret.expose().len() < MIN_PEPPER_LEN {
                return Err(Error::Config(format!(
                    "{PEPPERS_VAR}: pepper {kid} is shorter than {MIN_PEPPER_LEN} characters"
                )));
            }
        }
        if !peppers.peppers.contains_key(&peppers.current) {
            return Err(Error::Config(format!(
                "{PEPPERS_VAR}: the current key id is not among the peppers"
            )));
        }
        Ok(peppers)
    }

    /// The key id new hashes are made under.
    pub fn current_kid(&self) -> &str {
        &self.current
    }

    /// `HMAC-SHA256(pepper[kid], password)`: what the KDF stretches. A key id that is not
    /// configured is a configuration error.
    pub fn mix(&self, kid: &str, password: &str) -> Result<Vec<u8>> {
        let pepper = self.peppers.get(kid).ok_or_else(|| {
            Error::Config(format!(
                "{PEPPERS_VAR} has no pepper {kid}, which a stored pay password uses"
            ))
        })?;
        let mut mac = Hmac::<Sha256>::new_from_slice(pepper.expose().as_bytes())
            .map_err(|_| Error::Config(format!("{PEPPERS_VAR}: pepper {kid} is unusable")))?;
        mac.update(password.as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn two() -> Peppers {
        Peppers::parse(&format!(
            r#"{{"current":"p2","peppers":{{"p1":"{A}","p2":"{B}"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_current_kid_and_every_pepper_are_usable() {
        let peppers = two();
        assert_eq!(peppers.current_kid(), "p2");
        let (old, new) = (
            peppers.mix("p1", "123456").unwrap(),
            peppers.mix("p2", "123456").unwrap(),
        );
        assert_eq!(old.len(), 32);
        assert_ne!(old, new, "each pepper gives its own input");
        assert_ne!(peppers.mix("p2", "123457").unwrap(), new);
    }

    #[test]
    fn a_kid_that_is_gone_is_a_config_error_naming_no_secret() {
        let error = two().mix("p0", "123456").unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error}");
        assert!(!error.to_string().contains(A));
    }

    #[test]
    fn malformed_configurations_are_refused_without_echoing_secrets() {
        let cases = [
            format!(r#"{{"current":"p9","peppers":{{"p1":"{A}"}}}}"#),
            r#"{"current":"p1","peppers":{"p1":"short"}}"#.to_owned(),
            format!(r#"{{"current":"p 1","peppers":{{"p 1":"{A}"}}}}"#),
            format!(r#"p1:{A}"#),
            format!(r#"{{"current":"p1","peppers":{{"p1":"{A}"}},"extra":1}}"#),
        ];
        for text in cases {
            let error = Peppers::parse(&text).unwrap_err();
            assert!(matches!(error, Error::Config(_)), "{text}");
            assert!(!error.to_string().contains(A), "{error}");
            assert!(
                !format!(
                    "{:?}",
                    Peppers::parse(&format!(r#"{{"current":"p1","peppers":{{"p1":"{A}"}}}}"#))
                        .unwrap()
                )
                .contains(A),
                "Debug redacts"
            );
        }
    }
}
