//! The widget's components, one small file each. They read view state and call actions; network
//! calls live in `api.rs`, rules in `state.rs`.
//!
//! The first view's optional and reactive pieces are erased (`Option<AnyView>`, owned text): each
//! distinct view shape in a reactive slot costs every shopper its own copy of Leptos' code for it,
//! one shape for all of them costs it once.

mod balance_pay;
mod checkout;
mod focus;
mod fresh;
mod methods;
pub mod parts;
mod result;
mod split;
mod summary;
mod waiting;

pub use checkout::Checkout;
pub use methods::MethodList;
pub use result::ErrorNotice;
pub use split::SplitEditor;
pub use summary::OrderSummary;
