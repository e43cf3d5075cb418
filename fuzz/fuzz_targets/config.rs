//! The config file parser: any text is a config or an error naming a line,
//! never a panic (error positions are computed from byte offsets).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil::config::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("fuzz.toml")) {
        Ok(_) => {}
        Err(ConfigError::Invalid { line, column, .. }) => {
            assert!(line >= 1 && column >= 1);
            assert!(line <= text.matches('\n').count() + 1, "line {line} past the end");
        }
        Err(err) => panic!("parsing text cannot fail to read: {err}"),
    }
});
