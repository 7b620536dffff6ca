//! Provider fees: a tiered schedule by monthly volume, as bKash prices merchants (its guide:
//! 1.85 % below ৳500,000 a month, 1.70 % to ৳2,000,000, 1.55 % to ৳5,000,000, 1.40 % above, for
//! personal merchants).
//!
//! Rule: a payment is charged at the rate of the tier that the month's volume *before it* falls
//! in, and the fee is rounded half up to the minor unit. Refunds do not return fees. Rates are in
//! basis points (1.85 % = 185), so no floats touch money.

use serde::{Deserialize, Serialize};

use crate::api::PaymentMethod;

/// One tier: the rate for monthly volume up to `up_to_minor` (exclusive), or beyond the previous
/// tier when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTier {
    #[serde(default)]
    pub up_to_minor: Option<i64>,
    pub rate_bps: u32,
}

/// A method's tiers, in increasing volume; the last one has no bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FeeSchedule(pub Vec<FeeTier>);

impl FeeSchedule {
    /// No fee (store balance and points are the merchant's own money).
    pub fn free() -> FeeSchedule {
        FeeSchedule(vec![FeeTier {
            up_to_minor: None,
            rate_bps: 0,
        }])
    }

    /// The rate for a payment made when the month's volume so far is `volume_before_minor`.
    pub fn rate_bps(&self, volume_before_minor: i64) -> u32 {
        self.0
            .iter()
            .find(|tier| {
                tier.up_to_minor
                    .is_none_or(|bound| volume_before_minor < bound)
            })
            .or(self.0.last())
            .map_or(0, |tier| tier.rate_bps)
    }

    /// The fee on `amount_minor`, in minor units, rounded half up.
    pub fn fee_minor(&self, amount_minor: i64, volume_before_minor: i64) -> i64 {
        let rate = i128::from(self.rate_bps(volume_before_minor));
        ((i128::from(amount_minor) * rate + 5_000) / 10_000) as i64
    }
}

/// The default schedules: bKash's personal-merchant tiers from its guide (in paisa), WeChat Pay's
/// standard 0.6 % for physical goods; wallet methods are free.
pub fn default_schedule(method: PaymentMethod) -> FeeSchedule {
    let tier = |up_to_minor, rate_bps| FeeTier {
        up_to_minor,
        rate_bps,
    };
    match method {
        PaymentMethod::Bkash => FeeSchedule(vec![
            tier(Some(50_000_000), 185),
            tier(Some(200_000_000), 170),
            tier(Some(500_000_000), 155),
            tier(None, 140),
        ]),
        PaymentMethod::WechatPay => FeeSchedule(vec![tier(None, 60)]),
        PaymentMethod::Card => FeeSchedule(vec![tier(None, 290)]),
        PaymentMethod::Balance | PaymentMethod::Points => FeeSchedule::free(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bkash_tiers_follow_the_months_volume_before_the_payment() {
        let bkash = default_schedule(PaymentMethod::Bkash);
        assert_eq!(bkash.rate_bps(0), 185);
        assert_eq!(bkash.rate_bps(49_999_999), 185);
        assert_eq!(bkash.rate_bps(50_000_000), 170);
        assert_eq!(bkash.rate_bps(499_999_999), 155);
        assert_eq!(bkash.rate_bps(900_000_000), 140);
        // ৳1,250.00 at 1.85 % is ৳23.125, rounded half up to ৳23.13.
        assert_eq!(bkash.fee_minor(125_000, 0), 2_313);
        // The same payment once the month passed ৳5,000,000: 1.40 % = ৳17.50.
        assert_eq!(bkash.fee_minor(125_000, 600_000_000), 1_750);
    }

    #[test]
    fn wallet_methods_cost_nothing_and_huge_amounts_do_not_overflow() {
        assert_eq!(
            default_schedule(PaymentMethod::Balance).fee_minor(10_000, 0),
            0
        );
        let wechat = default_schedule(PaymentMethod::WechatPay);
        assert_eq!(wechat.fee_minor(8_800, 0), 53); // ¥88.00 at 0.6 % = ¥0.528
        assert_eq!(
            wechat.fee_minor(crate::money::MAX_AMOUNT_MINOR, 0),
            crate::money::MAX_AMOUNT_MINOR / 10_000 * 60
        );
    }

    #[test]
    fn a_schedule_reads_from_json() {
        let json = r#"[{"up_to_minor": 100000, "rate_bps": 200}, {"rate_bps": 150}]"#;
        let schedule: FeeSchedule = serde_json::from_str(json).unwrap();
        assert_eq!(schedule.rate_bps(99_999), 200);
        assert_eq!(schedule.rate_bps(100_000), 150);
    }
}
