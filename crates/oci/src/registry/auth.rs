//! Registry credentials and the 401 challenge dance (Basic, or Bearer through a token server).
//! Secrets live in memory only: `Secret` never prints, and header values are marked sensitive.

use std::fmt;

use base64::Engine as _;
use reqwest::header::HeaderValue;

/// A string that never shows in Debug or Display output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: Secret) -> Self {
        Credentials {
            username: username.into(),
            password,
        }
    }

    /// ECR's GetAuthorizationToken answer: base64 of `AWS:<password>`.
    pub fn from_ecr_token(token: &Secret) -> Result<Self, &'static str> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.expose().trim())
            .map_err(|_| "the ECR authorization token is not base64")?;
        let decoded = String::from_utf8(decoded).map_err(|_| "the ECR token is not text")?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or("the ECR token is not `user:password`")?;
        Ok(Credentials::new(user, Secret::new(password)))
    }

    pub fn basic_header(&self) -> HeaderValue {
        let raw = format!("{}:{}", self.username, self.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        sensitive(&format!("Basic {encoded}"))
    }
}

pub fn sensitive(value: &str) -> HeaderValue {
    let mut header = HeaderValue::from_str(value).expect("credentials are header-safe text");
    header.set_sensitive(true);
    header
}

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => {
                let param = |name: &str| {
                    params.split(',').find_map(|p| {
                        let (k, v) = p.trim().split_once('=')?;
                        (k.trim().eq_ignore_ascii_case(name))
                            .then(|| v.trim().trim_matches('"').to_string())
                    })
                };
                Some(Challenge::Bearer {
                    realm: param("realm")?,
                    service: param("service"),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        let c = Credentials::new("AWS", s);
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(c.basic_header().is_sensitive());
    }

    #[test]
    fn ecr_tokens_decode_to_basic_credentials() {
        let token = Secret::new(base64::engine::general_purpose::STANDARD.encode("AWS:pass:word"));
        let c = Credentials::from_ecr_token(&token).unwrap();
        assert_eq!(c.username, "AWS");
        assert_eq!(c.password.expose(), "pass:word");
        assert!(Credentials::from_ecr_token(&Secret::new("%%%")).is_err());
    }

    #[test]
    fn challenges_parse() {
        assert_eq!(
            Challenge::parse(
                r#"Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#
            ),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example.com/token",service="registry.example.com""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into())
            })
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
    }
}
