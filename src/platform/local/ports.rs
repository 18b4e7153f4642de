//! Port allocation for an environment: every named endpoint gets a fixed port on 127.0.0.1,
//! chosen once at `env up` from a base port, skipping ports already taken, and recorded in
//! the plan so that every later command (and `env down`'s leak check) knows them.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

/// Errors from port allocation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortError {
    /// Ran past the top of the port range.
    #[error("allocate {wanted} ports from base port {base}: only {found} free ports below 65535")]
    Exhausted {
        /// The base port asked for.
        base: u16,
        /// How many ports were wanted.
        wanted: usize,
        /// How many were found.
        found: usize,
    },
}

/// Named ports, in allocation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMap(pub BTreeMap<String, u16>);

impl PortMap {
    /// The port allocated under `name`.
    ///
    /// # Panics
    /// If `name` was not allocated: plans ask only for names they allocated themselves.
    pub fn get(&self, name: &str) -> u16 {
        match self.0.get(name) {
            Some(p) => *p,
            None => panic!("port `{name}` was never allocated"),
        }
    }

    /// Every allocated port.
    pub fn all(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.values().copied()
    }
}

/// Allocates `names` to consecutive free ports from `base` upwards, asking `is_free` about
/// each candidate. Pure apart from `is_free`, so the policy is testable.
pub fn allocate<'a>(
    names: impl IntoIterator<Item = &'a str>,
    base: u16,
    mut is_free: impl FnMut(u16) -> bool,
) -> Result<PortMap, PortError> {
    let names: Vec<&str> = names.into_iter().collect();
    let mut map = BTreeMap::new();
    let mut candidate = u32::from(base);
    for name in &names {
        loop {
            if candidate > 65535 {
                return Err(PortError::Exhausted {
                    base,
                    wanted: names.len(),
                    found: map.len(),
                });
            }
            // Bounded by the check above.
            let port = candidate as u16;
            candidate += 1;
            if is_free(port) {
                map.insert((*name).to_string(), port);
                break;
            }
        }
    }
    Ok(PortMap(map))
}

/// Whether nothing listens on 127.0.0.1:`port` (by trying to bind it).
pub fn is_free_on_loopback(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn is_listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into(),
        std::time::Duration::from_millis(300),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_consecutively_and_skips_taken_ports() {
        let taken = [17001u16, 17003];
        let map = allocate(["a", "b", "c"], 17000, |p| !taken.contains(&p)).unwrap();
        assert_eq!(map.get("a"), 17000);
        assert_eq!(map.get("b"), 17002);
        assert_eq!(map.get("c"), 17004);
    }

    #[test]
    fn reports_exhaustion_instead_of_wrapping() {
        let err = allocate(["a", "b"], 65535, |_| true).unwrap_err();
        assert_eq!(
            err,
            PortError::Exhausted {
                base: 65535,
                wanted: 2,
                found: 1
            }
        );
    }

    #[test]
    fn real_loopback_check_sees_a_bound_listener() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!is_free_on_loopback(port));
        assert!(is_listening(port));
        drop(l);
        assert!(is_free_on_loopback(port));
    }
}
