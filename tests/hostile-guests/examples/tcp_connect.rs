//! Attack: open TCP connections to a listener the test runs on the
//! loopback interface (and resolve nothing: addresses are literal).
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let port = param("port");
        for host in ["127.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0"] {
            let addr = format!("{host}:{port}");
            r.io(format!("connect {host}"), TcpStream::connect(&addr));
        }
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .expect("a literal address");
        r.io(
            "connect_timeout 127.0.0.1",
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)),
        );
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
