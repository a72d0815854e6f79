//! [`ToSocketAddrs`]: what `connect` and `bind` accept, and where names are resolved.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::blocking::unblock;

/// Something that names one or more socket addresses: a `SocketAddr`, an `(ip, port)` pair, or a
/// `"host:port"` string.
///
/// A string that is already an address (`"127.0.0.1:80"`, `"[::1]:80"`) is parsed on the spot. Any
/// other name is resolved by the system resolver (`getaddrinfo`, which blocks) on the blocking
/// pool, so a slow DNS server stalls only the task that asked, never the event loop.
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use std::net::SocketAddr;

    /// What a `ToSocketAddrs` turns into before any resolving happens.
    pub enum Target {
        Resolved(Vec<SocketAddr>),
        Name(String),
    }

    pub trait Sealed {
        fn into_target(self) -> Target;
    }
}

use sealed::{Sealed, Target};

/// Resolves `addr` into the addresses to try, in the order the resolver gave them.
pub(crate) async fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    match addr.into_target() {
        Target::Resolved(addrs) => Ok(addrs),
        Target::Name(name) => {
            let addrs = unblock(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&name).map(|a| a.collect::<Vec<_>>())
            })?
            .await?;
            if addrs.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "name resolved to no addresses",
                ));
            }
            Ok(addrs)
        }
    }
}

impl ToSocketAddrs for SocketAddr {}
impl Sealed for SocketAddr {
    fn into_target(self) -> Target {
        Target::Resolved(vec![self])
    }
}

macro_rules! impl_for_ip_and_port {
    ($($ip:ty),*) => {$(
        impl ToSocketAddrs for ($ip, u16) {}
        impl Sealed for ($ip, u16) {
            fn into_target(self) -> Target {
                Target::Resolved(vec![SocketAddr::new(self.0.into(), self.1)])
            }
        }
    )*};
}
impl_for_ip_and_port!(IpAddr, Ipv4Addr, Ipv6Addr);

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn into_target(self) -> Target {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Target::Resolved(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Target::Name(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for &str {}
impl Sealed for &str {
    fn into_target(self) -> Target {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Target::Resolved(vec![addr]),
            Err(_) => Target::Name(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn into_target(self) -> Target {
        self.as_str().into_target()
    }
}

impl ToSocketAddrs for &String {}
impl Sealed for &String {
    fn into_target(self) -> Target {
        self.as_str().into_target()
    }
}
