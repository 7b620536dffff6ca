//! WeChat Pay API v3 signatures: what is signed, the `Authorization` header, and the checks on
//! WeChat's own signed answers and notifications.
//!
//! From WeChat's "签名生成" and "签名验证" pages (pay.weixin.qq.com/doc/v3/merchant/4012365336
//! and 4013053249): a request signs `METHOD\nPATH_WITH_QUERY\nTIMESTAMP\nNONCE\nBODY\n` with the
//! merchant's API key; an answer or notification is signed over `TIMESTAMP\nNONCE\nBODY\n` with
//! the platform key named by `Wechatpay-Serial` (a `PUB_KEY_ID_...` in public-key mode). A
//! timestamp more than five minutes from our clock is refused, so a captured answer cannot be
//! replayed later.

use crate::crypto::rsa;
use crate::error::Result;

/// The `Authorization` scheme of API v3.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a signed timestamp may be from our clock.
pub const MAX_SKEW_S: i64 = 5 * 60;

pub fn request_message(
    method: &str,
    path_with_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n")
}

pub fn response_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// What JSAPI's `paySign` signs.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
    format!("{app_id}\n{time_stamp}\n{nonce_str}\n{package}\n")
}

pub fn authorization(
    mchid: &str,
    serial_no: &str,
    nonce: &str,
    timestamp: i64,
    signature: &str,
) -> String {
    format!(
        "{SCHEME} mchid=\"{mchid}\",nonce_str=\"{nonce}\",signature=\"{signature}\",\
         timestamp=\"{timestamp}\",serial_no=\"{serial_no}\""
    )
}

/// Why a signed answer or notification was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("signed by an unknown key ({0})")]
    UnknownSerial(String),
    #[error("timestamp {skew_s} s away from our clock")]
    Stale { skew_s: i64 },
    #[error("the signature does not verify")]
    BadSignature,
}

/// The `Wechatpay-*` headers of an answer or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignedHeaders {
    /// Reads the headers through `get` (a case-insensitive lookup).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<SignedHeaders, VerifyError> {
        let need = |name: &'static str| get(name).ok_or(VerifyError::Missing(name));
        Ok(SignedHeaders {
            timestamp: need("Wechatpay-Timestamp")?,
            nonce: need("Wechatpay-Nonce")?,
            signature: need("Wechatpay-Signature")?,
            serial: need("Wechatpay-Serial")?,
        })
    }

    /// The checks that need no cryptography: a known key, a fresh timestamp. Returns the
    /// timestamp.
    pub fn check(&self, platform_key_id: &str, now_s: i64) -> Result<i64, VerifyError> {
        if self.serial != platform_key_id {
            return Err(VerifyError::UnknownSerial(self.serial.clone()));
        }
        let timestamp: i64 = self
            .timestamp
            .parse()
            .map_err(|_| VerifyError::Stale { skew_s: i64::MAX })?;
        let skew_s = now_s.saturating_sub(timestamp);
        if now_s.abs_diff(timestamp) > MAX_SKEW_S.unsigned_abs() {
            return Err(VerifyError::Stale { skew_s });
        }
        Ok(timestamp)
    }
}

/// Verifies `body` against its signed headers: key, freshness, then the RSA signature.
pub async fn verify(
    headers: &SignedHeaders,
    body: &str,
    platform_key_id: &str,
    platform_key_der: &[u8],
    now_s: i64,
) -> Result<std::result::Result<i64, VerifyError>> {
    let timestamp = match headers.check(platform_key_id, now_s) {
        Ok(timestamp) => timestamp,
        Err(error) => return Ok(Err(error)),
    };
    let message = response_message(&headers.timestamp, &headers.nonce, body);
    Ok(
        match rsa::verify(platform_key_der, &message, &headers.signature).await? {
            true => Ok(timestamp),
            false => Err(VerifyError::BadSignature),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_message_matches_wechats_example() {
        // The example on WeChat's signing page: GET /v3/certificates with an empty body.
        assert_eq!(
            request_message(
                "GET",
                "/v3/certificates",
                1_554_208_460,
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                ""
            ),
            "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
        );
    }

    #[test]
    fn the_authorization_header_has_wechats_shape() {
        assert_eq!(
            authorization(
                "1900009191",
                "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                1_554_208_460,
                "c2ln"
            ),
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",\
             signature=\"c2ln\",timestamp=\"1554208460\",serial_no=\"1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C\""
        );
    }

    #[test]
    fn pay_sign_and_answers_sign_lines_ending_in_newlines() {
        assert_eq!(
            pay_sign_message("wx8888888888888888", "1414561699", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "prepay_id=wx201410272009395522657a690389285100"),
            "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n"
        );
        assert_eq!(response_message("1", "n", "{}"), "1\nn\n{}\n");
    }

    fn headers(serial: &str, timestamp: &str) -> SignedHeaders {
        SignedHeaders {
            timestamp: timestamp.into(),
            nonce: "n".into(),
            signature: "s".into(),
            serial: serial.into(),
        }
    }

    #[test]
    fn unknown_keys_and_stale_timestamps_are_refused_before_any_cryptography() {
        let now = 1_700_000_000;
        assert_eq!(
            headers("PUB_KEY_ID_1", "1700000000").check("PUB_KEY_ID_1", now),
            Ok(now)
        );
        assert_eq!(
            headers("PUB_KEY_ID_2", "1700000000").check("PUB_KEY_ID_1", now),
            Err(VerifyError::UnknownSerial("PUB_KEY_ID_2".into()))
        );
        assert!(headers("PUB_KEY_ID_1", "1699999700")
            .check("PUB_KEY_ID_1", now)
            .is_ok());
        assert_eq!(
            headers("PUB_KEY_ID_1", "1699999699").check("PUB_KEY_ID_1", now),
            Err(VerifyError::Stale { skew_s: 301 })
        );
        assert_eq!(
            headers("PUB_KEY_ID_1", "1700000301").check("PUB_KEY_ID_1", now),
            Err(VerifyError::Stale { skew_s: -301 })
        );
        // `skew.abs()` overflowed on a clock at i64::MIN; found by the `wechat_notification`
        // fuzz target (fuzz/seeds/wechat_notification/crash_clock_overflow).
        assert_eq!(
            headers("PUB_KEY_ID_1", "1").check("PUB_KEY_ID_1", i64::MIN),
            Err(VerifyError::Stale { skew_s: i64::MIN })
        );
        assert_eq!(
            headers("PUB_KEY_ID_1", "-9223372036854775808").check("PUB_KEY_ID_1", now),
            Err(VerifyError::Stale { skew_s: i64::MAX })
        );
        assert!(headers("PUB_KEY_ID_1", "soon")
            .check("PUB_KEY_ID_1", now)
            .is_err());
        let missing = SignedHeaders::read(|name| (name != "Wechatpay-Nonce").then(|| "x".into()));
        assert_eq!(missing, Err(VerifyError::Missing("Wechatpay-Nonce")));
    }
}
