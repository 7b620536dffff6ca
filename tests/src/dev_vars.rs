//! The dev secrets in `.dev.vars`: generated once per checkout, never committed.
//!
//! `wrangler dev` reads the file; tests and `cargo xtask` read it to learn the merchant keys.
//! The WeChat Pay simulator's own secrets (its platform private key) are not the Worker's, so
//! they live beside it in `.dev.wechat-sim.json`, equally git-ignored.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One configured merchant, as in the Worker's `MERCHANTS` secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MerchantConfig {
    pub id: String,
    pub name: String,
    pub secret_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<checkout_core::allocation::PointsRules>,
    /// The page origins that may open this merchant's widget (the Worker's own always may).
    /// Files from before the field have none: [`DevVars::with_default_origins`] adds them.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl MerchantConfig {
    pub fn test_key(&self) -> &str {
        self.key_with_prefix("sk_test_")
    }

    pub fn live_key(&self) -> &str {
        self.key_with_prefix("sk_live_")
    }

    fn key_with_prefix(&self, prefix: &str) -> &str {
        self.secret_keys
            .iter()
            .find(|k| k.starts_with(prefix))
            .map(String::as_str)
            .unwrap_or_else(|| panic!("merchant {} has no {prefix} key", self.id))
    }
}

/// The bKash merchant credentials the Worker uses and the local simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BkashCredentials {
    pub username: String,
    pub password: String,
    pub app_key: String,
    pub app_secret: String,
}

/// The page origin the demo merchant allows besides the Worker's own: the one tests embed from
/// (`fixtures::ORIGIN`).
pub const DEMO_ALLOWED_ORIGIN: &str = "https://shop.example";
/// The second merchant's page origin, which the demo merchant does not allow.
pub const OTHER_ALLOWED_ORIGIN: &str = "https://other-shop.example";

/// The demo merchant's loyalty points: 10 points = 1.00, at least 100 a use, at most 50,000 an
/// order, up to the whole order.
pub const DEMO_POINTS_RULES: checkout_core::allocation::PointsRules =
    checkout_core::allocation::PointsRules {
        points_per_unit: 10,
        min_points_per_use: 100,
        max_points_per_order: 50_000,
        max_share_percent: 100,
        may_pay_whole_order: true,
    };

/// A WeChat Pay merchant account and the platform keys of the simulator that plays WeChat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatDevKeys {
    pub mchid: String,
    pub appid: String,
    pub merchant_serial_no: String,
    pub merchant_private_key_pem: String,
    pub merchant_public_key_pem: String,
    pub api_v3_key: String,
    pub platform_private_key_pem: String,
    pub platform_public_key_pem: String,
    pub platform_public_key_id: String,
}

impl WechatDevKeys {
    /// Fresh RSA-2048 key pairs for the merchant and the platform, and random account ids.
    pub fn generate() -> WechatDevKeys {
        use checkout_simulators::wechat::crypto::generate_rsa_keypair_pem;
        let (merchant_private_key_pem, merchant_public_key_pem) = generate_rsa_keypair_pem();
        let (platform_private_key_pem, platform_public_key_pem) = generate_rsa_keypair_pem();
        let mchid = format!("19{}", random_digits(8));
        WechatDevKeys {
            appid: format!("wx{}", random_base62(16).to_ascii_lowercase()),
            merchant_serial_no: random_hex_upper(40),
            merchant_private_key_pem,
            merchant_public_key_pem,
            api_v3_key: random_base62(32),
            platform_private_key_pem,
            platform_public_key_pem,
            platform_public_key_id: format!("PUB_KEY_ID_01{mchid}{}", random_digits(18)),
            mchid,
        }
    }

    /// The Worker's `WECHATPAY_TEST_*` secrets (all but the base URL), as `.dev.vars` lines: the
    /// simulator is a sandbox, so only test sessions use it. PEM line breaks are written as
    /// `\n`, which wrangler's dotenv turns back into newlines.
    fn worker_lines(&self) -> String {
        let escaped = |pem: &str| pem.trim_end().replace('\n', "\\n");
        format!(
            "WECHATPAY_TEST_MCHID=\"{}\"\nWECHATPAY_TEST_APPID=\"{}\"\n\
             WECHATPAY_TEST_MERCHANT_SERIAL_NO=\"{}\"\nWECHATPAY_TEST_MERCHANT_PRIVATE_KEY=\"{}\"\n\
             WECHATPAY_TEST_APIV3_KEY=\"{}\"\nWECHATPAY_TEST_PLATFORM_PUBLIC_KEY=\"{}\"\n\
             WECHATPAY_TEST_PLATFORM_PUBLIC_KEY_ID=\"{}\"\n",
            self.mchid,
            self.appid,
            self.merchant_serial_no,
            escaped(&self.merchant_private_key_pem),
            self.api_v3_key,
            escaped(&self.platform_public_key_pem),
            self.platform_public_key_id,
        )
    }
}

/// Where the WeChat simulator's keys live, beside `.dev.vars`.
pub fn wechat_keys_path(dev_vars: &Path) -> std::path::PathBuf {
    dev_vars.with_file_name(".dev.wechat-sim.json")
}

#[derive(Debug, Clone)]
pub struct DevVars {
    pub token_signing_key: String,
    pub merchants: Vec<MerchantConfig>,
    pub demo_merchant_key: String,
    pub bkash: BkashCredentials,
    pub wechat: WechatDevKeys,
    /// The Worker's `PAY_PASSWORD_PEPPERS` (JSON). Files from before peppers have none:
    /// [`DevVars::with_default_pepper`] adds one.
    pub pay_password_peppers: Option<String>,
}

/// The key id of the dev pepper `cargo xtask setup` generates.
pub const DEV_PEPPER_KID: &str = "dev1";

/// A `PAY_PASSWORD_PEPPERS` value: the peppers by key id, `current` the one new hashes use.
pub fn pepper_config(current: &str, peppers: &[(&str, &str)]) -> String {
    let peppers: serde_json::Map<String, serde_json::Value> = peppers
        .iter()
        .map(|(kid, secret)| ((*kid).to_owned(), serde_json::Value::from(*secret)))
        .collect();
    serde_json::json!({"current": current, "peppers": peppers}).to_string()
}

/// A fresh pepper: 48 base62 characters (285 bits).
pub fn random_pepper() -> String {
    random_base62(48)
}

impl DevVars {
    /// Fresh random secrets: the demo merchant (test and live keys) and a second merchant, so
    /// tests can check that merchants never see each other's objects.
    pub fn generate() -> DevVars {
        let demo_test_key = format!("sk_test_{}", random_base62(32));
        let merchants = vec![
            MerchantConfig {
                id: "m_demo".into(),
                name: "Tea House".into(),
                secret_keys: vec![
                    demo_test_key.clone(),
                    format!("sk_live_{}", random_base62(32)),
                ],
                points: Some(DEMO_POINTS_RULES),
                allowed_origins: Vec::new(),
            },
            MerchantConfig {
                id: "m_other".into(),
                name: "Other Shop".into(),
                secret_keys: vec![format!("sk_test_{}", random_base62(32))],
                points: None,
                allowed_origins: Vec::new(),
            },
        ];
        let vars = DevVars {
            token_signing_key: random_base62(48),
            merchants,
            demo_merchant_key: demo_test_key,
            bkash: BkashCredentials {
                username: format!("sandbox_{}", random_base62(8)),
                password: random_base62(24),
                app_key: random_base62(26),
                app_secret: random_base62(40),
            },
            wechat: WechatDevKeys::generate(),
            pay_password_peppers: None,
        };
        vars.with_default_origins().with_default_pepper()
    }

    /// Whether the file has the pay-password pepper (files generated before it do not).
    pub fn pepper_configured(&self) -> bool {
        self.pay_password_peppers.is_some()
    }

    /// The same secrets, with a fresh dev pepper if there is none: how `cargo xtask setup`
    /// brings an older `.dev.vars` up to date without changing its keys.
    pub fn with_default_pepper(mut self) -> DevVars {
        if self.pay_password_peppers.is_none() {
            let secret = random_pepper();
            self.pay_password_peppers = Some(pepper_config(
                DEV_PEPPER_KID,
                &[(DEV_PEPPER_KID, secret.as_str())],
            ));
        }
        self
    }

    /// Whether the file at `path` names its provider secrets per mode (`BKASH_TEST_*`); files
    /// from before test and live accounts were split name them `BKASH_*`, which the Worker no
    /// longer reads.
    pub fn provider_names_current(path: &Path) -> bool {
        std::fs::read_to_string(path)
            .map(|text| {
                text.contains("\nBKASH_TEST_USERNAME=") && text.contains("\nWECHATPAY_TEST_MCHID=")
            })
            .unwrap_or(false)
    }

    /// Rewrites an older `.dev.vars` at `path` with the per-mode provider names, keeping every
    /// key. Written beside and renamed, so a concurrent reader sees the old or the new file.
    pub fn upgrade_provider_names(path: &Path) -> std::io::Result<()> {
        if DevVars::provider_names_current(path) {
            return Ok(());
        }
        let vars = DevVars::read(path)?;
        let staged = path.with_extension(format!("upgrade-{}", std::process::id()));
        std::fs::write(&staged, vars.to_file_text())?;
        std::fs::rename(&staged, path)
    }

    /// Whether every merchant has its allowed origins (files generated before them do not).
    pub fn merchant_origins_configured(&self) -> bool {
        self.merchants.iter().all(|m| !m.allowed_origins.is_empty())
    }

    /// The same secrets, with the dev origins for merchants that have none: how `cargo xtask
    /// setup` brings an older `.dev.vars` up to date without changing its keys.
    pub fn with_default_origins(mut self) -> DevVars {
        for merchant in &mut self.merchants {
            if merchant.allowed_origins.is_empty() {
                let origin = match merchant.id.as_str() {
                    "m_demo" => DEMO_ALLOWED_ORIGIN,
                    _ => OTHER_ALLOWED_ORIGIN,
                };
                merchant.allowed_origins = vec![origin.to_owned()];
            }
        }
        self
    }

    /// Writes `.dev.vars` and the WeChat simulator's key file beside it.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let keys = serde_json::to_string_pretty(&self.wechat).map_err(std::io::Error::other)?;
        std::fs::write(wechat_keys_path(path), keys)?;
        std::fs::write(path, self.to_file_text())
    }

    pub fn to_file_text(&self) -> String {
        let merchants = serde_json::to_string(&self.merchants).expect("merchants serialise");
        format!(
            "# Dev secrets for `wrangler dev`, generated by `cargo xtask setup`. Never commit.\n\
             TOKEN_SIGNING_KEY=\"{}\"\nMERCHANTS='{merchants}'\nDEMO_MERCHANT_KEY=\"{}\"\n\
             BKASH_TEST_USERNAME=\"{}\"\nBKASH_TEST_PASSWORD=\"{}\"\nBKASH_TEST_APP_KEY=\"{}\"\n\
             BKASH_TEST_APP_SECRET=\"{}\"\n",
            self.token_signing_key,
            self.demo_merchant_key,
            self.bkash.username,
            self.bkash.password,
            self.bkash.app_key,
            self.bkash.app_secret,
        ) + &self.wechat.worker_lines()
            + &self
                .pay_password_peppers
                .as_ref()
                .map(|p| format!("PAY_PASSWORD_PEPPERS='{p}'\n"))
                .unwrap_or_default()
    }

    pub fn read(path: &Path) -> std::io::Result<DevVars> {
        let text = std::fs::read_to_string(path)?;
        let value = |name: &str| -> std::io::Result<String> {
            // Provider secrets from before test and live accounts were split have no `_TEST_`.
            let unmoded = name.replacen("_TEST_", "_", 1);
            [name, unmoded.as_str()]
                .iter()
                .find_map(|name| {
                    text.lines()
                        .find_map(|line| line.strip_prefix(&format!("{name}=")))
                })
                .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_owned())
                .ok_or_else(|| invalid(format!("{name} is missing from {}", path.display())))
        };
        let merchants = serde_json::from_str(&value("MERCHANTS")?)
            .map_err(|e| invalid(format!("MERCHANTS: {e}")))?;
        let keys_path = wechat_keys_path(path);
        let wechat: WechatDevKeys = serde_json::from_str(&std::fs::read_to_string(&keys_path)?)
            .map_err(|e| invalid(format!("{}: {e}", keys_path.display())))?;
        if value("WECHATPAY_TEST_MCHID")? != wechat.mchid {
            return Err(invalid(format!(
                "{} is not the pair of {}",
                keys_path.display(),
                path.display()
            )));
        }
        Ok(DevVars {
            token_signing_key: value("TOKEN_SIGNING_KEY")?,
            merchants,
            demo_merchant_key: value("DEMO_MERCHANT_KEY")?,
            bkash: BkashCredentials {
                username: value("BKASH_TEST_USERNAME")?,
                password: value("BKASH_TEST_PASSWORD")?,
                app_key: value("BKASH_TEST_APP_KEY")?,
                app_secret: value("BKASH_TEST_APP_SECRET")?,
            },
            wechat,
            pay_password_peppers: value("PAY_PASSWORD_PEPPERS").ok(),
        })
    }

    /// The checkout's own `.dev.vars`.
    pub fn of_repo() -> DevVars {
        let path = crate::repo_root().join(".dev.vars");
        DevVars::read(&path).unwrap_or_else(|e| panic!("{e}: run `cargo xtask setup` first"))
    }

    /// Whether the demo merchant has loyalty-points rules (files generated before them do not).
    pub fn merchant_points_configured(&self) -> bool {
        self.merchants
            .iter()
            .any(|m| m.id == "m_demo" && m.points.is_some())
    }

    pub fn merchant(&self, id: &str) -> &MerchantConfig {
        self.merchants
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no merchant {id} in .dev.vars"))
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

fn random_digits(len: usize) -> String {
    random_from(b"0123456789", len)
}

fn random_hex_upper(len: usize) -> String {
    random_from(b"0123456789ABCDEF", len)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    let mut byte = [0_u8; 1];
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        urandom.read_exact(&mut byte).expect("read /dev/urandom");
        if usize::from(byte[0]) < limit {
            out.push(alphabet[usize::from(byte[0]) % alphabet.len()] as char);
        }
    }
    out
}

/// Random `[0-9A-Za-z]` from the kernel's CSPRNG, drawn without modulo bias.
pub fn random_base62(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    let mut out = String::with_capacity(len);
    let mut byte = [0_u8; 1];
    while out.len() < len {
        urandom.read_exact(&mut byte).expect("read /dev/urandom");
        if byte[0] < 248 {
            out.push(ALPHABET[(byte[0] % 62) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_vars_round_trip_through_the_file() {
        let vars = DevVars::generate();
        let dir = crate::temp_dir("dev-vars");
        let path = dir.join(".dev.vars");
        vars.write(&path).unwrap();
        let read = DevVars::read(&path).unwrap();
        assert_eq!(read.wechat, vars.wechat);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("PRIVATE KEY-----\n"),
            "PEM breaks are escaped, one line per variable"
        );
        assert!(!text.contains(&vars.wechat.platform_private_key_pem[40..80]));
        assert_eq!(read.token_signing_key, vars.token_signing_key);
        assert_eq!(read.demo_merchant_key, vars.demo_merchant_key);
        assert_eq!(
            read.merchant("m_demo").live_key(),
            vars.merchant("m_demo").live_key()
        );
        assert_ne!(
            DevVars::generate().token_signing_key,
            vars.token_signing_key
        );
        assert_eq!(
            read.merchant("m_demo").allowed_origins,
            [DEMO_ALLOWED_ORIGIN]
        );
        assert!(read.merchant_origins_configured());
    }

    #[test]
    fn a_file_without_a_pepper_gets_one_keeping_its_keys() {
        let mut old = DevVars::generate();
        old.pay_password_peppers = None;
        let dir = crate::temp_dir("dev-vars-no-pepper");
        let path = dir.join(".dev.vars");
        old.write(&path).unwrap();
        assert!(!std::fs::read_to_string(&path)
            .unwrap()
            .contains("PAY_PASSWORD_PEPPERS"));
        let read = DevVars::read(&path).unwrap();
        assert!(!read.pepper_configured());
        let upgraded = read.with_default_pepper();
        upgraded.write(&path).unwrap();
        let again = DevVars::read(&path).unwrap();
        assert!(again.pepper_configured());
        let peppers: serde_json::Value =
            serde_json::from_str(again.pay_password_peppers.as_deref().unwrap()).unwrap();
        assert_eq!(peppers["current"], DEV_PEPPER_KID);
        assert!(peppers["peppers"][DEV_PEPPER_KID].as_str().unwrap().len() >= 43);
        assert_eq!(again.token_signing_key, old.token_signing_key);
        assert_eq!(again.demo_merchant_key, old.demo_merchant_key);
        assert_eq!(
            again.merchant("m_demo").live_key(),
            old.merchant("m_demo").live_key()
        );
        assert_eq!(
            again.with_default_pepper().pay_password_peppers,
            upgraded.pay_password_peppers,
            "an existing pepper is kept"
        );
    }

    #[test]
    fn a_file_without_origins_is_upgraded_keeping_its_keys() {
        let mut old = DevVars::generate();
        for merchant in &mut old.merchants {
            merchant.allowed_origins.clear();
        }
        let dir = crate::temp_dir("dev-vars-old");
        let path = dir.join(".dev.vars");
        old.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("allowed_origins\":[\""),
            "origins were written"
        );
        let read = DevVars::read(&path).unwrap();
        assert!(!read.merchant_origins_configured());
        let upgraded = read.with_default_origins();
        assert!(upgraded.merchant_origins_configured());
        assert_eq!(upgraded.token_signing_key, old.token_signing_key);
        assert_eq!(upgraded.demo_merchant_key, old.demo_merchant_key);
        assert_eq!(
            upgraded.merchant("m_other").allowed_origins,
            [OTHER_ALLOWED_ORIGIN]
        );
    }

    #[test]
    fn an_older_file_gets_per_mode_provider_names_and_keeps_its_keys() {
        let vars = DevVars::generate();
        let dir = crate::temp_dir("dev-vars-modes");
        let path = dir.join(".dev.vars");
        vars.write(&path).unwrap();
        // As written before test and live accounts were split.
        let legacy = vars
            .to_file_text()
            .replace("BKASH_TEST_", "BKASH_")
            .replace("WECHATPAY_TEST_", "WECHATPAY_");
        std::fs::write(&path, legacy).unwrap();
        assert!(!DevVars::provider_names_current(&path));
        assert_eq!(DevVars::read(&path).unwrap().bkash, vars.bkash);

        DevVars::upgrade_provider_names(&path).unwrap();
        assert!(DevVars::provider_names_current(&path));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("\nBKASH_USERNAME="), "{text}");
        assert!(text.contains(&format!(
            "\nBKASH_TEST_APP_SECRET=\"{}\"",
            vars.bkash.app_secret
        )));
        assert!(text.contains(&format!(
            "\nWECHATPAY_TEST_APIV3_KEY=\"{}\"",
            vars.wechat.api_v3_key
        )));
        assert!(
            !text.contains("_LIVE_"),
            "the simulators are sandboxes: test accounts only"
        );
        let read = DevVars::read(&path).unwrap();
        assert_eq!(read.bkash, vars.bkash);
        assert_eq!(read.wechat, vars.wechat);
        assert_eq!(read.token_signing_key, vars.token_signing_key);
    }
}
