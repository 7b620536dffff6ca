//! The wallet's outbox of merchant events (`customer.pay_password_*`). An event is written in
//! the same synchronous turn as the change it reports, then handed to the merchant's `Webhooks`
//! object (idempotent by event id) and dropped only once that object has it. A failed hand-over
//! leaves it for the wallet's alarm, so a lockout cannot happen without the merchant hearing of it.
//!
//! The wallet learns whose it is (merchant scope, customer id) from the merchant's commands: a
//! password can only be set by one. A wallet whose password predates this keeps its events until
//! the merchant's next call about it names the owner.

use checkout_core::pay_password::AttemptGuard;
use checkout_core::webhook::{Event, EventType};
use serde::{Deserialize, Serialize};

use super::Wallet;
use crate::crypto::random_id;
use crate::error::Result;
use crate::log::{self, Level};
use crate::objects::rpc;
use crate::objects::wallet_store::WalletOwner;
use crate::objects::webhooks::{self, WebhookCommand};

/// How long before a failed hand-over is tried again.
const RETRY_AFTER_MS: i64 = 30_000;

/// An event as the wallet keeps it until it knows (or has confirmed) its owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingEvent {
    id: String,
    kind: EventType,
    created_s: i64,
    /// The lockout after the change.
    lockouts: u32,
    hard_locked: bool,
    locked_until_s: Option<i64>,
}

impl PendingEvent {
    pub(super) fn new(kind: EventType, guard: &AttemptGuard, now_ms: i64) -> Result<PendingEvent> {
        Ok(PendingEvent {
            id: format!("evt_{}", random_id(24)?),
            kind,
            created_s: now_ms / 1000,
            lockouts: guard.lockouts,
            hard_locked: guard.hard_locked,
            locked_until_s: (guard.locked_until_ms > now_ms)
                .then_some(guard.locked_until_ms / 1000),
        })
    }

    /// The event as the merchant receives it.
    fn event(&self, owner: &WalletOwner) -> Event {
        Event {
            id: self.id.clone(),
            kind: self.kind,
            created: self.created_s,
            livemode: owner.merchant_scope.starts_with("live:"),
            session_id: String::new(),
            data: serde_json::json!({
                "object": "customer_pay_password",
                "customer_id": owner.customer_id,
                "locked": self.hard_locked || self.locked_until_s.is_some(),
                "hard_locked": self.hard_locked,
                "locked_until": self.locked_until_s,
                "lockouts": self.lockouts,
            }),
        }
    }
}

impl Wallet {
    /// Records whose wallet this is, if it is news.
    pub(super) fn learn_owner(&self, owner: Option<&WalletOwner>) -> Result<()> {
        match owner {
            Some(owner) if self.store.owner()?.as_ref() != Some(owner) => {
                self.store.set_owner(owner)
            }
            _ => Ok(()),
        }
    }

    /// Hands the outbox to the merchant's `Webhooks` object. On failure the events stay and the
    /// alarm tries again.
    pub(super) async fn flush_outbox(&self) {
        if let Err(e) = self.try_flush_outbox().await {
            log::event(
                Level::Error,
                serde_json::json!({"object": "wallet", "outbox": e.to_string()}),
            );
            crate::objects::alarm_within(&self.state.storage(), RETRY_AFTER_MS).await;
        }
    }

    async fn try_flush_outbox(&self) -> Result<()> {
        let (pending, last) = self.store.outbox::<PendingEvent>()?;
        if pending.is_empty() {
            return Ok(());
        }
        let Some(owner) = self.store.owner()? else {
            // Not an outage: retrying cannot help until a merchant call names the owner.
            log::event(
                Level::Warn,
                serde_json::json!({"object": "wallet", "outbox": "waiting for the owner",
                    "events": pending.len()}),
            );
            return Ok(());
        };
        let events = pending.iter().map(|p| p.event(&owner)).collect();
        let stub = webhooks::stub(&self.env, &owner.merchant_scope)?;
        let command = WebhookCommand::Enqueue {
            events,
            samples: Vec::new(),
            attempts: Vec::new(),
        };
        rpc::call::<_, ()>(&stub, &command).await?;
        self.store.clear_outbox(last)
    }
}
