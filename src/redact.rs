//! What shipit never prints: secret-looking values, and control characters from remote ends.
//!
//! One rule for every output (plan, validate, the GitHub step summary, config error snippets,
//! JSON): a value is secret when its name says so (`DB_PASSWORD`, `SENTRY_DSN`) or when its
//! text has the shape of a credential whatever its name (a URL with a password, a known token
//! prefix, a long random string). Written by hand: the secret scanners on crates.io are whole
//! applications, and this needs a dozen shapes and one entropy measure.

/// Shown instead of a secret value.
pub const MASK: &str = "***";

/// Words in a variable's name that mark its value as secret.
const SECRET_NAME_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "TOKEN",
    "SECRET",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "DSN",
    "CONN_STR",
    "CONNECTION_STRING",
    "PRIVATE",
    "SIGNATURE",
    "COOKIE",
    "SESSION",
];

/// Prefixes of tokens whose issuers made them recognisable on purpose.
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxa-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "sk_live_",
    "rk_live_",
    "sk-",
    "npm_",
    "pypi-",
    "AIza",
    "-----BEGIN",
];

/// A name that marks its value secret: `DB_PASSWORD`, `API_TOKEN`, `SENTRY_DSN`, `AUTH`.
/// Words are matched between `_` boundaries for the short ones (`PASS`, `PWD`, `AUTH`), so
/// `PASSENGER_COUNT` or `AUTHOR` are not secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    SECRET_NAME_WORDS.iter().any(|w| {
        if w.len() <= 4 {
            words.contains(w)
        } else {
            upper.contains(w)
        }
    })
}

/// A value whose text is shaped like a credential, whatever it is called.
pub fn is_secret_value(value: &str) -> bool {
    let value = value.trim();
    url_with_password(value)
        || TOKEN_PREFIXES.iter().any(|p| {
            value.starts_with(p)
                && value.len() >= p.len() + 8
                && !value.contains(char::is_whitespace)
        })
        || aws_access_key_id(value)
        || jwt(value)
        || high_entropy(value)
}

/// Both rules: what plan, validate and the step summary mask.
pub fn is_secret(name: &str, value: &str) -> bool {
    !value.is_empty() && (is_secret_name(name) || is_secret_value(value))
}

/// A line of free text (a config line quoted in an error, a message) with every
/// credential-shaped word masked, and `NAME = value` / `NAME: value` masked by name.
pub fn mask_text(text: &str) -> String {
    if text.contains('\n') {
        return text
            .split('\n')
            .map(mask_line)
            .collect::<Vec<_>>()
            .join("\n");
    }
    mask_line(text)
}

fn mask_line(line: &str) -> String {
    // `key = value` and `key: value` (INI files, YAML): the name decides for the whole value.
    for separator in ['=', ':'] {
        if let Some((name, value)) = line.split_once(separator) {
            let name = name.trim().trim_start_matches('-').trim();
            let value_text = value.trim().trim_matches(['"', '\'']);
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                && !value_text.is_empty()
                && is_secret_name(name)
                && !value_text.starts_with("arn:")
            {
                let keep = line.len() - value.len();
                return format!("{}{} {MASK}", &line[..keep - 1], separator);
            }
        }
    }
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            if is_secret_value(word.trim_matches(['"', '\'', ',', ';'])) {
                out.push_str(MASK);
            } else {
                out.push_str(word);
            }
            word.clear();
        }
    };
    for c in line.chars() {
        if c.is_whitespace() || c == '`' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Text from a remote end made safe for a terminal (control characters escaped, at most `max`
/// characters): the images crate needs it too, for what a registry sends.
pub use shipit_oci::printable;

fn url_with_password(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((user_info, _host)) => !user_info.is_empty(),
        None => false,
    }
}

/// AKIA (long-term) and ASIA (temporary) access key ids: 4 letters and 16 of [A-Z2-7].
fn aws_access_key_id(value: &str) -> bool {
    (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value.len() == 20
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn jwt(value: &str) -> bool {
    value.starts_with("eyJ") && value.split('.').count() == 3 && value.len() > 30
}

/// A long word with no spaces whose characters are spread like random output: 20 or more
/// characters, letters and digits both present, and at least 3.5 bits of Shannon entropy per
/// character (English words and identifiers stay below about 3.3; 40-character AWS secret
/// keys are about 4.5). Hex digests (64 hex characters, at most 4 bits) pass the entropy bar,
/// so image digests and git SHAs are exempt by shape: they identify, they do not grant.
fn high_entropy(value: &str) -> bool {
    if value.len() < 20 || value.contains(char::is_whitespace) {
        return false;
    }
    let hex_body = value.strip_prefix("sha256:").unwrap_or(value);
    if hex_body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    // Paths, ARNs, URLs, host names and image references are structure, not secrets
    // (base64 secrets have no `.` or `:`; a JWT is recognised by its own shape).
    if value.starts_with('/') || value.contains(['.', ':']) {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_letter = value.bytes().any(|b| b.is_ascii_alphabetic());
    if !(has_digit && has_letter) || is_constant_name(value) {
        return false;
    }
    shannon_bits(value) >= 3.5
}

/// An enum value as AWS writes them (`WINDOWS_SERVER_2022_CORE`, `LINUX/X86_64`): capitals and
/// digits in short words joined by `_` (at least two) or `/`. No credential has that shape;
/// access key ids have no separators and secret keys have lower case.
fn is_constant_name(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'/')
        && value.matches('_').count() >= 2
        && value
            .split(['_', '/'])
            .all(|word| (1..=10).contains(&word.len()))
}

fn shannon_bits(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0f64;
    for c in text.chars() {
        *counts.entry(c).or_insert(0f64) += 1.0;
        total += 1.0;
    }
    counts
        .values()
        .map(|n| {
            let p = n / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_by_word() {
        for name in [
            "DB_PASSWORD",
            "DB_PASS",
            "SENTRY_DSN",
            "AUTH",
            "CONN_STR",
            "API_TOKEN",
            "aws_secret_access_key",
            "STRIPE_KEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PASSENGER_COUNT",
            "AUTHOR",
            "LOG_LEVEL",
            "PORT",
            "APP_VERSION",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secret_values_are_recognised_by_shape() {
        for value in [
            "postgres://u:p@h/db",
            "redis://:hunter2@cache:6379",
            "https://abc123@o1.ingest.sentry.io/5",
            "ghp_0123456789abcdefABCDEF0123456789abcd",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Zk9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "sk_live_0123456789abcdef",
            "ABCD_EFGH_0123456789ABCDEFGHIJKL",
        ] {
            assert!(is_secret_value(value), "{value}");
        }
        for value in [
            "1.10",
            "0347126",
            "production",
            "https://api.example.com/v1",
            "info",
            "sha256:6d3b5f3c0a1c4f0e9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928",
            "0347126a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
            "my-service-name-for-production",
            "WINDOWS_SERVER_2022_CORE",
            "WINDOWS_SERVER_2019_FULL/X86_64",
        ] {
            assert!(!is_secret_value(value), "{value}");
        }
    }

    #[test]
    fn free_text_is_masked_word_by_word_and_by_name() {
        assert_eq!(
            mask_text("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "aws_secret_access_key = ***"
        );
        assert_eq!(mask_text("  DB_PASS: hunter2"), "  DB_PASS: ***");
        assert_eq!(
            mask_text("url is postgres://u:p@h/db here"),
            "url is *** here"
        );
        assert_eq!(mask_text("app: api"), "app: api");
        assert_eq!(
            mask_text("error[unknown-key]: d.yaml:3:1: unknown key `x`\nDB_PASS=x"),
            "error[unknown-key]: d.yaml:3:1: unknown key `x`\nDB_PASS= ***"
        );
        // An ARN names a secret; it is not one.
        assert_eq!(
            mask_text("DB_PASSWORD: arn:aws:ssm:us-east-1:1:parameter/db"),
            "DB_PASSWORD: arn:aws:ssm:us-east-1:1:parameter/db"
        );
    }

    #[test]
    fn remote_text_loses_its_control_characters_and_is_bounded() {
        assert_eq!(
            printable("bad\u{1b}]0;owned\u{7}name\r\n", 100),
            "bad\\u{1b}]0;owned\\u{7}name\\u{d}\n"
        );
        assert_eq!(printable("abcdef", 3), "abc…");
    }
}
