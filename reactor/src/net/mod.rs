//! TCP networking on the reactor.

mod addr;
mod tcp;

pub use addr::ToSocketAddrs;
pub use tcp::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
