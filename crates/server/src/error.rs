//! Why the service refused a request or could not run: one enum for the crate, each variant
//! with the HTTP status it answers with. Messages name the field or the object, never an
//! internal detail.

use crate::journal::JournalError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request field that is malformed or out of range.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such object, or one that belongs to someone else (the two are not told apart).
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("missing or unknown API token; send `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("this needs the {role} role")]
    Forbidden { role: &'static str },
    /// The request is well formed but the state does not allow it now.
    #[error("{0}")]
    Conflict(String),
    /// The engine refused the command; nothing changed.
    #[error("the market refused: {source}")]
    Engine { source: levfarm_core::Error },
    /// The last price is too old to open or grow a position on.
    #[error("the price is stale: last update {age_secs} s ago, limit {limit_secs} s; opening is refused until the feed recovers")]
    Stale { age_secs: u64, limit_secs: u64 },
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("too many requests for this token; retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    /// The store failed or the writer stopped: the command was not stored and not applied.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A configuration file or flag that cannot be used.
    #[error("{0}")]
    Config(String),
    /// A bug: replay disagreed with the live state, or an invariant broke.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { field: field.into(), message: message.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Error {
        Error::NotFound { what: what.into() }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid { .. } => 400,
            Error::NotFound { .. } => 404,
            Error::Unauthorized => 401,
            Error::Forbidden { .. } => 403,
            Error::Conflict(_) | Error::Stale { .. } => 409,
            Error::Engine { .. } => 422,
            Error::TooLarge { .. } => 413,
            Error::RateLimited { .. } => 429,
            Error::Unavailable(_) | Error::Journal(_) => 503,
            Error::Config(_) | Error::Internal(_) => 500,
        }
    }

    /// A stable snake_case name for clients.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::NotFound { .. } => "not_found",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden { .. } => "forbidden",
            Error::Conflict(_) => "conflict",
            Error::Engine { source } => source.kind(),
            Error::Stale { .. } => "stale_price",
            Error::TooLarge { .. } => "too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable(_) | Error::Journal(_) => "unavailable",
            Error::Config(_) => "config",
            Error::Internal(_) => "internal",
        }
    }
}

impl From<levfarm_core::Error> for Error {
    fn from(source: levfarm_core::Error) -> Error {
        Error::Engine { source }
    }
}

impl From<levfarm_sim::SimError> for Error {
    fn from(e: levfarm_sim::SimError) -> Error {
        match e {
            levfarm_sim::SimError::Engine(source) => Error::Engine { source },
            other => Error::Internal(other.to_string()),
        }
    }
}
