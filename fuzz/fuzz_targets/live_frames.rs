//! The live stream's parsers: the server frames the browser reads
//! (`parse_frame`) and the client frames the server reads from `/ws`
//! (`ClientFrame`). Any input may be refused, none may panic.
#![no_main]

use app::live::protocol::{parse_frame, ClientFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = parse_frame(text) {
        // A parsed frame always has the seq of its envelope.
        let _ = frame.seq();
    }
    if let Ok(frame) = serde_json::from_str::<ClientFrame>(text) {
        // What the server accepts, it can write back the same.
        let again = serde_json::to_string(&frame).expect("a client frame serializes");
        assert_eq!(serde_json::from_str::<ClientFrame>(&again).ok(), Some(frame));
    }
});
