//! A published Akismet client, unmodified, against the running server: PyPI `akismet` 25.10.1
//! (installed by `.ci/run`). The client asserts its own parsed results: verify-key, a ham check,
//! a spam check with the discard tip, submit-ham, submit-spam, usage-limit.

use crate::common;

use common::{Server, model, run, text};
use std::process::Command;

#[test]
fn pypi_akismet_client_works_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rg.db");
    let blog = "https://blog.example.com";
    let out = run(
        &["keys", "--db", db.to_str().unwrap(), "add", "--blog", blog],
        None,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_string();
    let server = Server::start(&db, &model(), &[]);

    let script = common::repo().join("tests/clients/akismet_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([&server.base, &key, blog])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && text(&out.stdout).trim() == "ok",
        "the Akismet client failed (install it with `pip install akismet==25.10.1`, as .ci/run does):\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
