//! Stripe webhook events, read as hints: the type and the ids, nothing else.
//!
//! An event (docs.stripe.com/api/events/object) is `{id, type, livemode, data: {object}}`, where
//! `data.object` is the object as it was when the event happened. Stripe delivers at least once
//! and in no particular order, and advises re-reading the object before acting, so the edge never
//! acts on `data.object`: it keeps the object's id (and the intent a charge or refund belongs to)
//! and asks Stripe for the current state. The body is read only after
//! [`super::signature::verify`] accepted it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::wire::{Expandable, PaymentIntent};

/// A webhook event, reduced to what it is a hint about. The edge never acts on an event's
/// object: it re-reads the object from Stripe (Stripe's own advice for out-of-order and
/// duplicate deliveries), so only the type and the ids are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHint {
    pub event_id: String,
    pub kind: EventKind,
    /// The id of `data.object`: `cs_...`, `pi_...`, `ch_...` or `re_...`.
    pub object_id: String,
    /// `data.object.object`: `checkout.session`, `payment_intent`, `charge`, `refund`.
    pub object_type: String,
    /// The intent a charge or refund belongs to, to find our payment by.
    pub payment_intent: Option<String>,
    pub livemode: bool,
    /// The object's `metadata`: a Checkout Session or PaymentIntent the edge created carries our
    /// `session_id` and `payment_id` there (charges and refunds do not: their intent is read).
    pub metadata: BTreeMap<String, String>,
}

/// The events the checkout subscribes to (`docs/stripe.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    CheckoutSessionCompleted,
    CheckoutSessionExpired,
    CheckoutSessionAsyncPaymentSucceeded,
    CheckoutSessionAsyncPaymentFailed,
    PaymentIntentPaymentFailed,
    PaymentIntentAmountCapturableUpdated,
    PaymentIntentCanceled,
    ChargeRefunded,
    RefundUpdated,
    /// Any other type: acknowledged and ignored.
    Other(String),
}

impl EventKind {
    pub const SUBSCRIBED: [&'static str; 9] = [
        "checkout.session.completed",
        "checkout.session.expired",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "payment_intent.payment_failed",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "charge.refunded",
        "refund.updated",
    ];

    pub fn parse(kind: &str) -> EventKind {
        match kind {
            "checkout.session.completed" => EventKind::CheckoutSessionCompleted,
            "checkout.session.expired" => EventKind::CheckoutSessionExpired,
            "checkout.session.async_payment_succeeded" => {
                EventKind::CheckoutSessionAsyncPaymentSucceeded
            }
            "checkout.session.async_payment_failed" => EventKind::CheckoutSessionAsyncPaymentFailed,
            "payment_intent.payment_failed" => EventKind::PaymentIntentPaymentFailed,
            "payment_intent.amount_capturable_updated" => {
                EventKind::PaymentIntentAmountCapturableUpdated
            }
            "payment_intent.canceled" => EventKind::PaymentIntentCanceled,
            "charge.refunded" => EventKind::ChargeRefunded,
            "refund.updated" => EventKind::RefundUpdated,
            other => EventKind::Other(other.to_owned()),
        }
    }
}

#[derive(Deserialize)]
struct EventEnvelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    livemode: bool,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    id: String,
    object: String,
    payment_intent: Option<Expandable<PaymentIntent>>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Reads a verified webhook body. Refuses one without an event id, a type or an object id.
pub fn parse_event(body: &[u8]) -> Result<EventHint, serde_json::Error> {
    let event: EventEnvelope = serde_json::from_slice(body)?;
    if event.id.is_empty() || event.kind.is_empty() || event.data.object.id.is_empty() {
        return Err(serde::de::Error::custom(
            "an event needs an id, a type and an object id",
        ));
    }
    let payment_intent = match event.data.object.object.as_str() {
        "payment_intent" => Some(event.data.object.id.clone()),
        _ => event
            .data
            .object
            .payment_intent
            .as_ref()
            .map(|i| i.id().to_owned()),
    };
    Ok(EventHint {
        event_id: event.id,
        kind: EventKind::parse(&event.kind),
        object_id: event.data.object.id,
        object_type: event.data.object.object,
        payment_intent,
        livemode: event.livemode,
        metadata: event.data.object.metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_as_hints() {
        let body = br#"{"id":"evt_1","object":"event","type":"checkout.session.completed",
          "livemode":false,"created":1700000000,"api_version":"2025-08-27.basil",
          "data":{"object":{"id":"cs_test_a1","object":"checkout.session","payment_intent":"pi_1",
          "amount_total":12345}}}"#;
        let hint = parse_event(body).unwrap();
        assert_eq!(hint.event_id, "evt_1");
        assert_eq!(hint.kind, EventKind::CheckoutSessionCompleted);
        assert_eq!(hint.object_id, "cs_test_a1");
        assert_eq!(hint.object_type, "checkout.session");
        assert_eq!(hint.payment_intent.as_deref(), Some("pi_1"));

        let refund = br#"{"id":"evt_2","type":"refund.updated","data":{"object":
          {"id":"re_1","object":"refund","payment_intent":"pi_1","status":"succeeded"}}}"#;
        let hint = parse_event(refund).unwrap();
        assert_eq!(hint.kind, EventKind::RefundUpdated);
        assert_eq!(hint.payment_intent.as_deref(), Some("pi_1"));

        let intent = br#"{"id":"evt_3","type":"payment_intent.amount_capturable_updated",
          "data":{"object":{"id":"pi_9","object":"payment_intent"}}}"#;
        assert_eq!(
            parse_event(intent).unwrap().payment_intent.as_deref(),
            Some("pi_9")
        );

        let other = br#"{"id":"evt_4","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}"#;
        assert_eq!(
            parse_event(other).unwrap().kind,
            EventKind::Other("customer.created".into())
        );
        for kind in EventKind::SUBSCRIBED {
            assert!(
                !matches!(EventKind::parse(kind), EventKind::Other(_)),
                "{kind}"
            );
        }

        for bad in [
            &b"{}"[..],
            br#"{"id":"","type":"x","data":{"object":{"id":"a","object":"b"}}}"#,
            br#"{"id":"evt","type":"x","data":{"object":{"id":"","object":"b"}}}"#,
            br#"{"id":"evt","type":"x","data":{}}"#,
            b"not json",
        ] {
            assert!(parse_event(bad).is_err());
        }
    }
}
