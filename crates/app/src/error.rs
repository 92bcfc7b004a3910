//! Mapping library errors onto the `{code, message}` every front end sees.

pub use bridle_protocol::{ApiError, ErrorCode};
use bridle_store::StoreError;

pub(crate) fn api_error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

/// The `{code, message}` of a store error (the orphan rule keeps this from being a `From`).
pub(crate) fn store_error(error: StoreError) -> ApiError {
    {
        let code = match &error {
            StoreError::NewerSchema { .. } | StoreError::Unusable { .. } => {
                ErrorCode::DatabaseUnusable
            }
            StoreError::SnapshotNotFound(_) => ErrorCode::NotFound,
            StoreError::UnknownColumn { .. } | StoreError::UnfitFilter { .. } => {
                ErrorCode::InvalidInput
            }
            StoreError::AuditBroken { .. } | StoreError::AuditIntact(_) => ErrorCode::Conflict,
            StoreError::AuditKey { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Sql(_)
            | StoreError::Migrate(_) => ErrorCode::Internal,
        };
        tracing::debug!(?error, "store error");
        api_error(code, error.to_string())
    }
}
