//! Provider calls, timed: every call a session makes to a provider goes through
//! [`MeasuredConnector`], which writes a metric sample (method, operation, duration, success)
//! to the session's outbox and logs a line, so the merchant's metrics and latency alerts see
//! every call.

use std::future::Future;
use std::ops::Deref;

use checkout_core::api::PaymentMethod;

use super::CheckoutSession;
use crate::clock::now_ms;
use crate::connectors::{
    Connector, ConnectorError, CreatePayment, Created, Decline, PaymentConnector, ProviderPayment,
    ProviderRefund, RefundRequest,
};
use crate::crypto::random_id;
use crate::objects::webhooks::metrics::MetricSample;

pub struct MeasuredConnector<'a> {
    inner: Connector,
    method: PaymentMethod,
    session: &'a CheckoutSession,
}

impl<'a> MeasuredConnector<'a> {
    pub fn new(inner: Connector, method: PaymentMethod, session: &'a CheckoutSession) -> Self {
        MeasuredConnector {
            inner,
            method,
            session,
        }
    }

    async fn timed<T>(
        &self,
        op: &str,
        call: impl Future<Output = Result<T, ConnectorError>>,
    ) -> Result<T, ConnectorError> {
        let started = now_ms();
        let result = call.await;
        let ms = now_ms() - started;
        // A refusal is a provider that answered; only an unknown outcome counts as not ok.
        let ok = !matches!(result, Err(ConnectorError::Unknown(_)));
        crate::log::event(
            crate::log::Level::Info,
            serde_json::json!({"level": "info", "metric": "provider_call", "method": self.method.as_str(), "op": op, "ms": ms, "ok": ok}),
        );
        let sample = random_id(20).map(|id| MetricSample::ProviderCall {
            id: format!("ms_{id}"),
            method: self.method,
            op: op.to_owned(),
            ms,
            ok,
            at_ms: started,
        });
        if let Err(e) = sample.and_then(|s| self.session.record_sample(s)) {
            crate::log::event(
                crate::log::Level::Warn,
                serde_json::json!({"level": "warn", "metric_lost": e.to_string()}),
            );
        }
        result
    }

    pub async fn capture(
        &self,
        payment_id: &str,
        transaction_id: &str,
        amount: Option<checkout_core::Money>,
    ) -> Result<ProviderPayment, ConnectorError> {
        self.timed(
            "capture",
            self.inner.capture(payment_id, transaction_id, amount),
        )
        .await
    }

    pub async fn void(
        &self,
        payment_id: &str,
        transaction_id: &str,
    ) -> Result<ProviderPayment, ConnectorError> {
        self.timed("void", self.inner.void(payment_id, transaction_id))
            .await
    }
}

/// The connector's other methods (limits, transaction search) pass through untimed.
impl Deref for MeasuredConnector<'_> {
    type Target = Connector;

    fn deref(&self) -> &Connector {
        &self.inner
    }
}

impl PaymentConnector for MeasuredConnector<'_> {
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError> {
        self.timed("create", self.inner.create(request)).await
    }

    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.timed("complete", self.inner.complete(reference)).await
    }

    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.timed("query", self.inner.query(reference)).await
    }

    async fn cancel(&self, reference: &str) -> Result<Option<Decline>, ConnectorError> {
        self.timed("cancel", self.inner.cancel(reference)).await
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError> {
        self.timed("refund", self.inner.refund(request)).await
    }

    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        self.timed("find_refund", self.inner.find_refund(request))
            .await
    }
}
