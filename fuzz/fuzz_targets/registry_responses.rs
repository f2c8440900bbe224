//! What a registry or ECR sends back, and what a health check says, parsed from any text:
//! WWW-Authenticate challenges, ECR authorization tokens, digests, manifests and indexes,
//! image configs (their PATH), and health-check shell commands. No panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipit::config::model::HealthCheckCommand;
use shipit::image::{Digest, Index, Manifest};
use shipit::registry::auth::{Challenge, Credentials, Secret};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Challenge::parse(&text);
    let _ = Credentials::from_ecr_token(&Secret::new(text.to_string()));
    let _ = Digest::parse(&text);
    let _ = serde_json::from_slice::<Manifest>(data);
    let _ = serde_json::from_slice::<Index>(data);
    let _ = shipit::preflight::image_path(data);
    let _ = shipit::preflight::programs(&HealthCheckCommand::Shell(text.to_string()));
    let words: Vec<String> = text.split('\n').map(str::to_string).collect();
    let _ = shipit::preflight::programs(&HealthCheckCommand::Exec(words));
});
