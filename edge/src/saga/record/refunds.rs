//! Refund rules of a session record. The sum of refunds, pending ones included, never exceeds
//! what was paid.
//!
//! The split rule for a payment with several legs: a refund goes back in the reverse order of how
//! readily the money moves, the external provider's leg first, then store balance, then loyalty
//! points, each up to what is left of that leg. A part that reaches the points must be a whole
//! number of points at the session's rate.

use checkout_core::api::{
    PaymentMethod, PaymentStatus, Refund, RefundLeg, RefundStatus, SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};

use super::{PaymentRecord, RefundParts, RefundRecord, RefundStart, SessionRecord};
use crate::error::{Error, Result};
use crate::saga::provider::OtherRefunds;

impl SessionRecord {
    /// Refunded or being refunded: succeeded and pending refunds.
    pub fn amount_refunded(&self) -> Money {
        let minor = self
            .refunds
            .iter()
            .filter(|r| !r.automatic && r.status != RefundStatus::Failed)
            .map(|r| r.amount.amount_minor())
            .sum();
        Money::from_minor(minor, self.amount.currency()).unwrap_or(self.amount)
    }

    /// Records a pending refund of `amount`, or finds the one with the same key.
    pub fn start_refund(
        &mut self,
        idempotency_key: &str,
        amount: Money,
        reason: &str,
        refund_id: String,
        now_s: i64,
    ) -> Result<RefundStart> {
        if let Some(earlier) = self
            .refunds
            .iter()
            .find(|r| r.idempotency_key == idempotency_key)
        {
            if earlier.amount != amount {
                return Err(Error::api(ErrorCode::IdempotencyKeyReused));
            }
            return Ok(RefundStart::Replayed(earlier.clone()));
        }
        if self.status != SessionStatus::Paid {
            return Err(Error::api(ErrorCode::SessionNotPaid));
        }
        let payment = self
            .payments
            .iter()
            .find(|p| p.status == PaymentStatus::Succeeded)
            .ok_or_else(|| Error::Invariant("a paid session without a succeeded payment".into()))?;
        let payment = payment.clone();
        let left = self
            .amount_paid()
            .checked_sub(self.amount_refunded())
            .map_err(|e| Error::Invariant(format!("refunds exceed payments: {e}")))?;
        if amount.currency() != left.currency() || amount.amount_minor() > left.amount_minor() {
            return Err(Error::api_with(
                ErrorCode::RefundExceedsPayment,
                format!("At most {} is left to refund.", left.to_decimal_string()),
            ));
        }
        let parts = self.split_refund(&payment, amount)?;
        let refund = RefundRecord {
            parts: Some(parts),
            id: refund_id,
            idempotency_key: idempotency_key.to_owned(),
            payment_id: payment.id.clone(),
            amount,
            reason: reason.to_owned(),
            status: RefundStatus::Pending,
            failure: None,
            provider_refund_id: None,
            created_at_s: now_s,
            automatic: false,
            provider_done: false,
            attempts: 0,
            next_attempt_at_s: None,
            notify_url: None,
        };
        self.refunds.push(refund.clone());
        Ok(RefundStart::Started(refund))
    }

    /// Records a pending refund's outcome: the provider's refund id, or why it failed.
    pub fn finish_refund(
        &mut self,
        refund_id: &str,
        outcome: std::result::Result<Option<String>, ErrorDetail>,
    ) -> Result<RefundRecord> {
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.id == refund_id && r.status == RefundStatus::Pending)
            .ok_or_else(|| Error::Invariant(format!("no pending refund {refund_id}")))?;
        match outcome {
            Ok(provider_refund_id) => {
                refund.status = RefundStatus::Succeeded;
                refund.provider_refund_id = provider_refund_id;
            }
            Err(detail) => {
                refund.status = RefundStatus::Failed;
                refund.failure = Some(detail);
            }
        }
        Ok(refund.clone())
    }
}

impl SessionRecord {
    /// The other refunds of `refund`'s payment that reached its provider: those recorded as made,
    /// with the provider's ids, and whether another one is still unresolved. Refunds without a
    /// provider part do not count.
    pub fn other_provider_refunds(&self, refund: &RefundRecord) -> OtherRefunds {
        let with_provider_part = |r: &&RefundRecord| {
            r.id != refund.id
                && r.payment_id == refund.payment_id
                && r.parts.is_none_or(|parts| !parts.external.is_zero())
        };
        let others: Vec<&RefundRecord> = self.refunds.iter().filter(with_provider_part).collect();
        OtherRefunds {
            made: others
                .iter()
                .filter(|r| r.status == RefundStatus::Succeeded)
                .filter_map(|r| r.provider_refund_id.clone())
                .collect(),
            unresolved: others.iter().any(|r| r.status == RefundStatus::Pending),
        }
    }

    /// Whether a refund awaits its outcome.
    pub fn refunds_pending(&self) -> bool {
        self.refunds
            .iter()
            .any(|r| r.status == RefundStatus::Pending)
    }

    /// Where the shopper goes after the provider: the merchant's return URL, naming the session in
    /// its query (before any `#fragment`, which is kept) so the page can show the widget's result
    /// view. A URL that no longer parses (stored before URLs were parsed) is used as it is.
    pub fn return_url_with_session(&self) -> String {
        let url = &self.request.return_url;
        checkout_core::urls::with_query_param(url, "checkout_session", &self.id)
            .unwrap_or_else(|| url.clone())
    }
}

impl SessionRecord {
    /// A refund as the merchant sees it, with what went back to each leg.
    pub fn refund_view(&self, refund: &RefundRecord) -> Refund {
        let mut view = refund.view();
        let Some(payment) = self.payments.iter().find(|p| p.id == refund.payment_id) else {
            return view;
        };
        let currency = refund.amount.currency();
        let zero = Money::zero(currency);
        let parts = refund.parts.unwrap_or(RefundParts {
            external: if payment.provider.is_some() {
                refund.amount
            } else {
                zero
            },
            balance: if payment.provider.is_some() {
                zero
            } else {
                refund.amount
            },
            points: 0,
        });
        let points_money = refund
            .amount
            .checked_sub(parts.external)
            .and_then(|rest| rest.checked_sub(parts.balance))
            .unwrap_or(zero);
        let leg = |method, amount: Money, points| RefundLeg {
            method,
            amount: amount.to_decimal_string(),
            points,
        };
        if !parts.external.is_zero() {
            view.legs.push(leg(payment.method, parts.external, None));
        }
        if !parts.balance.is_zero() {
            view.legs
                .push(leg(PaymentMethod::Balance, parts.balance, None));
        }
        if parts.points > 0 {
            view.legs
                .push(leg(PaymentMethod::Points, points_money, Some(parts.points)));
        }
        view
    }

    /// The legs of a payment: external, balance, and points.
    pub(crate) fn legs(&self, payment: &PaymentRecord) -> Result<RefundParts> {
        let currency = payment.amount.currency();
        let points_value = match self.points_rules {
            Some(rules) if payment.points > 0 => rules
                .value_of(payment.points, currency)
                .map_err(|e| Error::Invariant(format!("stored points: {e}")))?,
            _ => Money::zero(currency),
        };
        let (external, balance) = if payment.provider.is_some() {
            let balance = payment.wallet_amount.unwrap_or(Money::zero(currency));
            (payment.provider_amount(), balance)
        } else {
            let balance = payment.amount.checked_sub(points_value).map_err(|e| {
                Error::Invariant(format!("points worth more than the payment: {e}"))
            })?;
            (Money::zero(currency), balance)
        };
        Ok(RefundParts {
            external,
            balance,
            points: payment.points,
        })
    }

    /// What each leg has already given back, pending refunds included.
    fn refunded_legs(&self, payment: &PaymentRecord) -> RefundParts {
        let currency = payment.amount.currency();
        let mut total = RefundParts {
            external: Money::zero(currency),
            balance: Money::zero(currency),
            points: 0,
        };
        for refund in self
            .refunds
            .iter()
            .filter(|r| r.payment_id == payment.id && r.status != RefundStatus::Failed)
        {
            // Refunds recorded before parts existed went all to the payment's one leg.
            let parts = refund.parts.unwrap_or(RefundParts {
                external: if payment.provider.is_some() {
                    refund.amount
                } else {
                    Money::zero(currency)
                },
                balance: if payment.provider.is_none() {
                    refund.amount
                } else {
                    Money::zero(currency)
                },
                points: 0,
            });
            total.external = total
                .external
                .checked_add(parts.external)
                .unwrap_or(total.external);
            total.balance = total
                .balance
                .checked_add(parts.balance)
                .unwrap_or(total.balance);
            total.points += parts.points;
        }
        total
    }

    /// Splits `amount` across the payment's legs by the rule in this module's doc.
    pub fn split_refund(&self, payment: &PaymentRecord, amount: Money) -> Result<RefundParts> {
        let legs = self.legs(payment)?;
        let done = self.refunded_legs(payment);
        let remaining =
            |leg: Money, done: Money| leg.checked_sub(done).unwrap_or(Money::zero(leg.currency()));
        let mut left = amount;
        let mut take = |room: Money| {
            let part = Money::from_minor(
                left.amount_minor().min(room.amount_minor()),
                left.currency(),
            )
            .unwrap_or(Money::zero(left.currency()));
            left = left.checked_sub(part).unwrap_or(left);
            part
        };
        let external = take(remaining(legs.external, done.external));
        let balance = take(remaining(legs.balance, done.balance));
        let points_money = left;
        let points = match self.points_rules {
            _ if points_money.is_zero() => 0,
            Some(rules) => {
                let unit = 10_i128.pow(points_money.currency().minor_digits());
                let scaled =
                    i128::from(points_money.amount_minor()) * i128::from(rules.points_per_unit);
                if scaled % unit != 0 {
                    return Err(Error::api_with(
                        ErrorCode::InvalidParameter,
                        "The part of this refund that goes back as points is not a whole number of points.",
                    ));
                }
                i64::try_from(scaled / unit).unwrap_or(i64::MAX)
            }
            None => {
                return Err(Error::Invariant(
                    "a refund reaches points without points rules".into(),
                ))
            }
        };
        if points > legs.points - done.points {
            return Err(Error::api(ErrorCode::RefundExceedsPayment));
        }
        Ok(RefundParts {
            external,
            balance,
            points,
        })
    }
}
