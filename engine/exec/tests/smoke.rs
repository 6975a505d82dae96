//! The view from inside: who, where and what a command sees.

mod common;
use common::*;

#[test]
fn the_child_sees_the_guest_paths_as_the_build_user() {
    let f = fixture();
    let (code, out, log) = sh(
        &f,
        "id -un; id -u; pwd; hostname; ls -d /sources /work /destroot /tmp; test -w /work && echo work-writable; test -w /sources || echo sources-readonly",
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        out,
        format!(
            "wport\n{}\n/work\nwport\n/destroot\n/sources\n/tmp\n/work\nwork-writable\nsources-readonly\n",
            f.exec.build_identity().uid
        )
    );
}

#[test]
fn private_tmp_and_shm_are_writable() {
    let f = fixture();
    let (code, out, log) = sh(
        &f,
        "echo a > /tmp/t && cat /tmp/t && echo b > /dev/shm/s && cat /dev/shm/s && echo c > /dev/null && head -c 4 /dev/urandom | wc -c",
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(out, "a\nb\n4\n");
}
