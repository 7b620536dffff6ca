//! The edge's one error type, and the one place where an error becomes an HTTP response.
//!
//! Client errors carry an [`ErrorDetail`] with a stable code. Everything else is internal: its
//! details go to the log with the request id, and the client sees only `internal_error`.

use checkout_core::api::FieldError;
use checkout_core::error::{ErrorBody, ErrorDetail};
use checkout_core::ErrorCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the client should see, with its stable code.
    #[error("{}: {}", .0.code.as_str(), .0.message)]
    Api(Box<ErrorDetail>),
    /// A failure of the Workers runtime (storage, fetch, bindings).
    #[error("runtime: {0}")]
    Runtime(#[from] worker::Error),
    /// A value we produced ourselves failed to (de)serialise.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The Worker is misconfigured (a missing or invalid secret).
    #[error("config: {0}")]
    Config(String),
    /// A stored record or an internal reply broke an invariant.
    #[error("invariant: {0}")]
    Invariant(String),
}

impl Error {
    /// A client error with the code's default message.
    pub fn api(code: ErrorCode) -> Error {
        Error::Api(Box::new(ErrorDetail::new(code)))
    }

    /// A client error with a specific message.
    pub fn api_with(code: ErrorCode, message: impl Into<String>) -> Error {
        let mut detail = ErrorDetail::new(code);
        detail.message = message.into();
        Error::Api(Box::new(detail))
    }

    /// The detail the client sees.
    pub fn detail(&self) -> ErrorDetail {
        match self {
            Error::Api(detail) => (**detail).clone(),
            _ => ErrorDetail::new(ErrorCode::InternalError),
        }
    }

    pub fn is_internal(&self) -> bool {
        !matches!(self, Error::Api(_))
    }

    /// The JSON body of the response.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.detail(),
        }
    }
}

impl From<ErrorDetail> for Error {
    fn from(detail: ErrorDetail) -> Error {
        Error::Api(Box::new(detail))
    }
}

impl From<FieldError> for Error {
    fn from(field: FieldError) -> Error {
        let mut detail = ErrorDetail::new(field.code);
        detail.message = field.message;
        detail.param = Some(field.param.to_owned());
        Error::Api(Box::new(detail))
    }
}
