//! Attack: listen for TCP connections (on the loopback, on every interface,
//! on a port the test chose, on an ephemeral port).
use std::net::TcpListener;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let port = param("port");
        for addr in [
            "127.0.0.1:0".to_owned(),
            "0.0.0.0:0".to_owned(),
            "[::]:0".to_owned(),
            format!("127.0.0.1:{port}"),
        ] {
            let l = r.io(
                format!("bind {}", addr.replace(&port, "{port}")),
                TcpListener::bind(&addr),
            );
            if let Some(l) = l {
                r.io("accept", l.accept());
            }
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
