//! AWS errors typed by what a caller can do about them, so that callers match a kind instead
//! of an error's text: wait and try again (throttled, unavailable), fix something (denied,
//! not found), or give up.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an AWS call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing named does not exist (`ResourceNotFoundException`, `...NotFoundException`).
    NotFound,
    /// The account or region is over a rate limit.
    Throttled,
    /// The credentials may not do this, or are not valid.
    Denied,
    /// The network, a timeout, or a 5xx: the service did not answer properly.
    Unavailable,
    /// Anything else: a refusal that another try will not change.
    Other,
}

/// A failed AWS call: which operation (on what), what kind of failure, and the message to show.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation}{} failed: {message}", resource.as_ref().map(|r| format!(" `{r}`")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    /// What the call was about (a repository, a service, a log group), where one is named.
    pub resource: Option<String>,
    pub kind: ErrorKind,
    /// The error and its causes on one line (`super::error_chain`).
    pub message: String,
    /// The service's error code (`ThrottlingException`), where it gave one.
    pub code: Option<String>,
}

impl AwsError {
    /// Types an SDK error: its service error code where there is one, else how the request
    /// failed (timeouts, connections and 5xx answers are `Unavailable`).
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let code = err.code().map(str::to_string);
        let kind = match err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => ErrorKind::Unavailable,
            SdkError::ServiceError(_) => kind_of_code(code.as_deref().unwrap_or_default()),
            _ => ErrorKind::Other,
        };
        AwsError {
            service,
            operation,
            resource: None,
            kind,
            message: super::error_chain(err),
            code,
        }
    }

    /// Names what the call was about, for the message.
    pub fn on(mut self, resource: impl std::fmt::Display) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Worth another try later: throttling, or a service or network that did not answer.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Unavailable)
    }
}

/// The kind of a service error code, by the names AWS services use for them.
fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "LimitExceededException" => ErrorKind::Throttled,
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "SignatureDoesNotMatch" => ErrorKind::Denied,
        "ServiceUnavailableException"
        | "ServiceUnavailable"
        | "InternalFailure"
        | "InternalServerError"
        | "InternalServiceException"
        | "ServerException" => ErrorKind::Unavailable,
        code if code.ends_with("NotFoundException") || code.ends_with("NotFound") => {
            ErrorKind::NotFound
        }
        _ => ErrorKind::Other,
    }
}

/// Whether `err` (anywhere in its chain) is an AWS failure worth another try.
pub fn is_transient(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<AwsError>())
        .any(AwsError::is_transient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_codes_are_typed_by_what_a_caller_can_do() {
        assert_eq!(kind_of_code("ThrottlingException"), ErrorKind::Throttled);
        assert_eq!(kind_of_code("AccessDeniedException"), ErrorKind::Denied);
        assert_eq!(
            kind_of_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_code("ServiceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of_code("ServiceUnavailableException"),
            ErrorKind::Unavailable
        );
        assert_eq!(kind_of_code("InvalidParameterException"), ErrorKind::Other);
    }

    #[test]
    fn transient_errors_are_found_through_context() {
        let typed = AwsError {
            service: "CloudWatch",
            operation: "FilterLogEvents",
            resource: None,
            kind: ErrorKind::Throttled,
            message: "slow down".into(),
            code: Some("ThrottlingException".into()),
        };
        assert_eq!(
            typed.to_string(),
            "CloudWatch FilterLogEvents failed: slow down"
        );
        let wrapped = anyhow::Error::new(typed).context("reading the service's logs");
        assert!(is_transient(&wrapped));
        let denied = anyhow::Error::new(AwsError {
            resource: Some("/ecs/api".into()),
            kind: ErrorKind::Denied,
            service: "CloudWatch",
            operation: "FilterLogEvents",
            message: "no".into(),
            code: None,
        });
        assert!(!is_transient(&denied));
        assert_eq!(
            denied.to_string(),
            "CloudWatch FilterLogEvents `/ecs/api` failed: no"
        );
        assert!(!is_transient(&anyhow::anyhow!("FilterLogEvents failed")));
    }
}
