//! Any bytes given to the config loader end in a config or in diagnostics, never in a panic,
//! and every diagnostic renders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let env = |name: &str| match name {
        "SET" => Some("value".to_string()),
        "PORT" => Some("5000".to_string()),
        _ => None,
    };
    match shipit::config::load_bytes(data, "fuzz.yaml", &env) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                let _ = warning.render(std::str::from_utf8(data).ok());
            }
        }
        Err(err) => {
            assert!(!err.diagnostics.is_empty(), "an error names at least one problem");
            let _ = err.render();
        }
    }
});
