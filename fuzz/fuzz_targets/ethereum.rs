//! The Ethereum JSON-RPC answer parsers and the judgement made from them:
//! a node may answer anything, and the check must report it, not panic.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil::checks::ethereum::{judge, parse_batch, parse_single, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = parse_single(data);
    let Ok(answers) = parse_batch(data) else {
        return;
    };
    let limits = Limits {
        chain_id: Some(1),
        max_block_age: Duration::from_secs(120),
        min_peers: 1,
        max_lag_blocks: 5,
    };
    let now = 1_800_000_000;
    for reference in [None, Some(Ok(0)), Some(Ok(u64::MAX)), Some(Err("down".to_string()))] {
        let _ = judge(&answers, reference.as_ref(), &limits, now);
    }
    let _ = judge(&answers, None, &limits, i64::MIN);
    let _ = judge(&answers, None, &limits, i64::MAX);
});
