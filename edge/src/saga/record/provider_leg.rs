//! The external-payment steps of a session record: created, approved, completed.

use checkout_core::api::{NextAction, PaymentMethod};
use checkout_core::Money;

use super::{LegStage, PaymentRecord, SessionRecord};
use crate::error::{Error, Result};

impl SessionRecord {
    /// The payment `provider` knows as `reference`. Looked up by both: a reference is only unique
    /// within one provider (a bKash `paymentID` and a WeChat `out_trade_no` are free text to each
    /// other), so a call from one provider can never name another provider's leg.
    pub fn payment_by_reference(
        &self,
        provider: PaymentMethod,
        reference: &str,
    ) -> Option<&PaymentRecord> {
        self.payments.iter().find(|p| {
            p.method == provider
                && p.provider
                    .as_ref()
                    .and_then(|l| l.reference.as_deref())
                    .is_some_and(|r| r == reference)
        })
    }

    /// Records that the provider created the payment and what the shopper does to approve it.
    pub fn leg_created(
        &mut self,
        payment_id: &str,
        reference: String,
        next_action: NextAction,
        now_s: i64,
    ) -> Result<()> {
        let leg = self.processing_leg(payment_id)?;
        leg.reference = Some(reference);
        leg.next_action = Some(next_action);
        leg.stage = LegStage::AwaitingShopper;
        leg.stage_since_s = now_s;
        Ok(())
    }

    /// Moves a leg to `stage`, written down before the call that stage makes.
    pub fn set_leg_stage(&mut self, payment_id: &str, stage: LegStage, now_s: i64) -> Result<()> {
        let leg = self.processing_leg(payment_id)?;
        leg.stage = stage;
        leg.stage_since_s = now_s;
        Ok(())
    }

    /// Records the wallet's and the provider's parts of a just-started external split.
    pub fn set_external_split(
        &mut self,
        payment_id: &str,
        points: i64,
        wallet: Money,
        external: Money,
    ) -> Result<()> {
        let payment = self.processing_mut(payment_id)?;
        payment.points = points;
        payment.wallet_amount = Some(wallet);
        payment.external_amount = Some(external);
        Ok(())
    }

    /// A just-started attempt takes over the holds a failed attempt kept.
    pub fn take_over_holds(&mut self, payment_id: &str, group: String) -> Result<()> {
        let payment = self.processing_mut(payment_id)?;
        payment.holds_group = Some(group);
        self.retained_holds = None;
        Ok(())
    }

    /// Records the points a just-started attempt uses.
    pub fn set_points(&mut self, payment_id: &str, points: i64) -> Result<()> {
        let payment = self.processing_mut(payment_id)?;
        payment.points = points;
        Ok(())
    }

    pub fn set_transaction_id(
        &mut self,
        payment_id: &str,
        transaction_id: Option<String>,
    ) -> Result<()> {
        if transaction_id.is_some() {
            self.processing_leg(payment_id)?.transaction_id = transaction_id;
        }
        Ok(())
    }

    fn processing_leg(&mut self, payment_id: &str) -> Result<&mut super::ProviderLeg> {
        self.processing_mut(payment_id)?
            .provider
            .as_mut()
            .ok_or_else(|| Error::Invariant(format!("no processing external payment {payment_id}")))
    }
}
