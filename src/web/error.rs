//! The web layer's one error type, mapped once to HTTP responses (JSON bodies).

use crate::storage::StorageError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// Per-field validation messages, keyed by field name.
pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("invalid fields")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {limit} bytes", limit = super::BODY_LIMIT)]
    TooLarge,
    #[error("{0}")]
    Unprocessable(String),
    #[error("You are posting comments too quickly. Slow down.")]
    Flood,
    #[error("Too many comments from your address; try again in a minute.")]
    RateLimited,
    #[error("Duplicate comment detected; it looks as though you’ve already said that!")]
    Duplicate,
    #[error("missing or wrong admin token")]
    Unauthorized,
    #[error("too many wrong admin tokens from your address; try again in {0} s")]
    TooManyAttempts(u64),
    #[error("{0}")]
    Forbidden(String),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Validation(_) | WebError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Flood | WebError::RateLimited | WebError::TooManyAttempts(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            WebError::Duplicate => StatusCode::CONFLICT,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Storage(StorageError::NotFound(_)) => StatusCode::NOT_FOUND,
            WebError::Storage(StorageError::Conflict(_)) => StatusCode::CONFLICT,
            WebError::Storage(e) if e.unavailable_reason().is_some() => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            WebError::Storage(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl WebError {
    /// What a person posting a comment is told; internal details stay in the log.
    pub fn user_message(&self) -> String {
        match self {
            // Said of every request the database refuses, reads and admin pages included.
            WebError::Storage(e) => match e.unavailable_reason() {
                Some(reason) => format!(
                    "This could not be done just now: {reason}. Nothing was stored; please try \
                     again in a few minutes."
                ),
                None => "Your comment could not be saved because of an internal error. \
                         Nothing was stored; please try again later."
                    .into(),
            },
            WebError::Internal(_) => "Your comment could not be saved because of an internal \
                                      error. Nothing was stored; please try again later."
                .into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = match &self {
            WebError::Validation(fields) => {
                json!({"error": "some fields are invalid", "fields": fields})
            }
            // Internal details stay in the log.
            WebError::Storage(StorageError::NotFound(id)) => {
                json!({"error": format!("comment {id} not found")})
            }
            WebError::Storage(e @ StorageError::Conflict(_)) => json!({"error": e.to_string()}),
            WebError::Storage(e) if e.unavailable_reason().is_some() => {
                json!({"error": self.user_message()})
            }
            WebError::Storage(_) | WebError::Internal(_) => {
                json!({"error": "internal error; the request was not stored"})
            }
            other => json!({"error": other.to_string()}),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        if let WebError::TooManyAttempts(seconds) = &self
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"replyguard admin\""),
            );
        }
        response
    }
}

impl From<JsonRejection> for WebError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return WebError::TooLarge;
        }
        match rejection {
            JsonRejection::JsonDataError(e) => WebError::Unprocessable(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => WebError::BadRequest(
                "expected a JSON body with Content-Type: application/json".into(),
            ),
            other => WebError::BadRequest(other.body_text()),
        }
    }
}
