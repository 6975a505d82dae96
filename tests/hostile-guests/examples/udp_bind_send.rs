//! Attack: bind UDP sockets and send a datagram to a socket the test is
//! listening on.
use std::net::UdpSocket;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        let target = format!("127.0.0.1:{}", param("port"));
        for addr in ["127.0.0.1:0", "0.0.0.0:0", "[::]:0"] {
            if let Some(s) = r.io(format!("bind {addr}"), UdpSocket::bind(addr)) {
                r.io("send_to {target}", s.send_to(b"hostile datagram", &target));
                r.io(
                    "connect+send {target}",
                    s.connect(&target)
                        .and_then(|()| s.send(b"hostile datagram")),
                );
            }
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
