//! Every way a broker read can fail, each naming the broker address and what was asked, never the
//! credential.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("profile {profile}: {message}")]
    Config { profile: String, message: String },
    #[error("credential {reference}: {reason}")]
    Credential { reference: String, reason: String },
    #[error("TLS setup for {address}: {reason}")]
    Tls { address: String, reason: String },
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("{address}{path}: no answer within {after:?}")]
    Timeout {
        address: String,
        path: String,
        after: Duration,
    },
    #[error("{address}{path}: HTTP {status}: {message}")]
    Status {
        address: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{address}{path}: malformed answer: {detail}")]
    Malformed {
        address: String,
        path: String,
        detail: String,
    },
    /// A JSON-RPC error answer (MCP): the server understood the request and refused it.
    #[error("{address}: `{method}` answered JSON-RPC error {code}: {message}")]
    Rpc {
        address: String,
        method: String,
        code: i64,
        message: String,
    },
    /// A file importer's input problem, located (`FILE: $.entries[3].spiffe_id: …`).
    #[error("{file}: {location}: {message}")]
    File {
        file: String,
        location: String,
        message: String,
    },
}
