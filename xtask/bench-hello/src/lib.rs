//! The smallest workers-rs Worker: every request is answered `ok`. `cargo xtask bench` measures
//! it beside the checkout's routes, so each route's cost reads as a multiple of the runtime's
//! floor for a Rust Worker.

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("ok")
}
