//! The widget's components, one small file each. They read view state and call actions; network
//! calls live in `api.rs`, rules in `state.rs`.

mod balance_pay;
mod checkout;
mod focus;
mod methods;
mod result;
mod split;
mod summary;
mod waiting;

pub use balance_pay::BalancePay;
pub use checkout::Checkout;
pub use methods::MethodList;
pub use result::{ErrorNotice, ResultView};
pub use split::SplitEditor;
pub use summary::OrderSummary;
pub use waiting::Waiting;
