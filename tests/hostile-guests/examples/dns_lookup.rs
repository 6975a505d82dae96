//! Attack: resolve names (a DNS query is a network side channel).
use std::net::ToSocketAddrs;
use wport_hostile_guests::*;

struct Guest;

impl Port for Guest {
    fn build() -> Result<()> {
        let mut r = Report::new();
        for name in ["localhost:80", "example.com:443"] {
            r.io(
                format!("resolve {name}"),
                name.to_socket_addrs().map(|a| a.count()),
            );
        }
        r.finish()
    }
}

wport_guest_sdk::export_port!(Guest);
