//! The `vigil` binary's command line and config errors.

use std::process::Command;

fn vigil() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    // No front end needed here.
    cmd.env("LEPTOS_SITE_ROOT", "/nonexistent");
    cmd
}

#[test]
fn bad_config_names_file_line_and_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.toml");
    std::fs::write(&path, "[collector]\ninterval = \"1s\"\ntop_procs = 3\n").unwrap();
    let out = vigil()
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:3:1: collector.top_procs", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = vigil()
        .arg("--bind")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("cannot listen on {addr}")), "{text}");
}

#[test]
fn help_lists_the_contract_flags() {
    let out = vigil().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--bind", "--data-dir", "--config"] {
        assert!(text.contains(flag), "{text}");
    }
}
