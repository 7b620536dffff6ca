//! Plumbing the three simulators share, so each provider module holds only its protocol: how a
//! simulator binds its port and learns its origin, stops its background threads, serves the
//! fault switches under `/__sim/`, delivers notifications with back-off, frames its hosted pages,
//! runs as a standalone binary, and (in unit tests) how tests call it and receive its callbacks.
//!
//! Architecture Invariant: nothing here knows a provider's wire format. Signatures, error bodies,
//! field names, retry schedules and delivery headers stay in `bkash/`, `wechat/` and `stripe/`;
//! these helpers take them as arguments. Like the rest of this crate, nothing here is shared with
//! the connectors under `edge/` that the simulators test.

pub mod cli;
pub(crate) mod control;
pub(crate) mod delivery;
pub(crate) mod html;
pub(crate) mod serve;
#[cfg(test)]
pub(crate) mod testing;
