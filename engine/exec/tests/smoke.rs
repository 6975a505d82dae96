mod common;
use common::*;

#[test]
fn true_runs() {
    let f = fixture();
    let (code, out, log) = sh(&f, "echo hi; id; pwd; ls /; env");
    eprintln!("{out}\n{log}");
    assert_eq!(code, 0);
}
