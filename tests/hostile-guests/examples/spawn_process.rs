//! Attack: run native programs, through std (no process support in WASI)
//! and through the host `exec` interface when the build has no native
//! command runner.
use wport_guest_sdk::bindings::wport::port::exec;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    #[allow(
        clippy::disallowed_methods,
        reason = "the attack: a guest trying to spawn a process, which it cannot do"
    )]
    fn build() -> Result<()> {
        let mut r = Report::new();
        r.io(
            "std spawn sh",
            std::process::Command::new("sh")
                .arg("-c")
                .arg("touch /tmp/pwned")
                .status(),
        );
        let cmd = exec::Command {
            program: "sh".into(),
            args: vec!["-c".into(), format!("echo pwned > {}", param("probe"))],
            cwd: "/work".into(),
            env: Vec::new(),
            capture_stdout: false,
        };
        match exec::run(&cmd) {
            Ok(o) => r.note("exec.run sh", format!("Ok({:?})", o.status)),
            Err(e) => r.note(
                "exec.run sh",
                match e {
                    exec::Error::Denied(_) => "Err(Denied)",
                    exec::Error::NotFound(_) => "Err(NotFound)",
                    exec::Error::Timeout(_) => "Err(Timeout)",
                    exec::Error::Unavailable(_) => "Err(Unavailable)",
                    exec::Error::Failed(_) => "Err(Failed)",
                },
            ),
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
