//! Wallet administration for merchants: credit balance, adjust points, read balances, set the pay
//! password and lift its lockout.
//!
//! Every command names the wallet's owner (merchant scope and customer id), which the wallet keeps
//! to address its `customer.pay_password_*` events to the merchant's `Webhooks` object.

use checkout_core::api::{
    self, BalanceCredit, BalanceCreditRequest, PointsAdjustment, PointsAdjustmentKind,
    PointsAdjustmentRequest, SetPayPasswordRequest, WalletView,
};
use worker::{Env, Request, Response};

use crate::auth::{self, MerchantContext};
use crate::config::Config;
use crate::error::Result;
use crate::http;
use crate::objects::wallet::{WalletCommand, WalletOwner};
use crate::objects::{rpc, wallet_stub};

/// `POST /v1/customers/{id}/balance_credits`: idempotent by the merchant's `reference`.
pub async fn credit(mut req: Request, env: &Env, customer_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    api::check_id("customer_id", customer_id, 64)?;
    let request: BalanceCreditRequest = http::read_json(&mut req).await?;
    let amount = request.validate()?;
    let command = WalletCommand::Credit {
        reference: request.reference,
        amount,
    };
    let stub = wallet_stub(env, &merchant.scope(), customer_id)?;
    let credit: BalanceCredit = rpc::call(&stub, &command).await?;
    http::json(200, &credit)
}

/// `GET /v1/customers/{id}/wallet`.
pub async fn retrieve(req: Request, env: &Env, customer_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    api::check_id("customer_id", customer_id, 64)?;
    let command = WalletCommand::View {
        customer_id: customer_id.to_owned(),
        owner: Some(owner(&merchant, customer_id)),
    };
    let stub = wallet_stub(env, &merchant.scope(), customer_id)?;
    let view: WalletView = rpc::call(&stub, &command).await?;
    http::json(200, &view)
}

/// `PUT /v1/customers/{id}/pay_password`: sets or replaces it, and clears a lockout (timed or
/// hard); the merchant's webhook endpoint gets `customer.pay_password_reset`.
pub async fn set_pay_password(mut req: Request, env: &Env, customer_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    api::check_id("customer_id", customer_id, 64)?;
    let request: SetPayPasswordRequest = http::read_json(&mut req).await?;
    request.validate()?;
    let command = WalletCommand::SetPayPassword {
        pay_password: request.pay_password,
        owner: Some(owner(&merchant, customer_id)),
    };
    let stub = wallet_stub(env, &merchant.scope(), customer_id)?;
    rpc::call::<_, ()>(&stub, &command).await?;
    http::json(
        200,
        &serde_json::json!({"customer_id": customer_id, "pay_password_set": true}),
    )
}

/// `POST /v1/customers/{id}/pay_password/unlock`: lifts a lockout, timed or hard, keeping the
/// password; answers the wallet. The merchant's webhook endpoint gets
/// `customer.pay_password_unlocked` when there was a lockout to lift.
pub async fn unlock_pay_password(req: Request, env: &Env, customer_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    api::check_id("customer_id", customer_id, 64)?;
    let command = WalletCommand::UnlockPayPassword {
        owner: owner(&merchant, customer_id),
    };
    let stub = wallet_stub(env, &merchant.scope(), customer_id)?;
    let view: WalletView = rpc::call(&stub, &command).await?;
    http::json(200, &view)
}

fn owner(merchant: &MerchantContext, customer_id: &str) -> WalletOwner {
    WalletOwner {
        merchant_scope: merchant.scope(),
        customer_id: customer_id.to_owned(),
    }
}

/// `POST /v1/customers/{id}/points_credits` or `.../points_debits`: idempotent by `reference`.
pub async fn adjust_points(
    mut req: Request,
    env: &Env,
    customer_id: &str,
    kind: PointsAdjustmentKind,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    api::check_id("customer_id", customer_id, 64)?;
    let request: PointsAdjustmentRequest = http::read_json(&mut req).await?;
    request.validate()?;
    let command = WalletCommand::AdjustPoints {
        reference: request.reference,
        points: request.points,
        kind,
    };
    let stub = wallet_stub(env, &merchant.scope(), customer_id)?;
    let adjustment: PointsAdjustment = rpc::call(&stub, &command).await?;
    http::json(200, &adjustment)
}
