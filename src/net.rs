//! IP addresses and CIDR blocks for `--source-ip`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address or a block: `203.0.113.7`, `198.51.100.0/24`, `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Does `text` (a `sourceIPAddress`, which may also be a service name) fall in this block?
    pub fn matches(&self, text: &str) -> bool {
        text.parse::<IpAddr>().is_ok_and(|ip| self.contains(ip))
    }
}

impl FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "'{s}' is not an IP address or CIDR block (for example 203.0.113.7, 198.51.100.0/24, 2001:db8::/32)"
            )
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_matching() {
        assert!(net("198.51.100.0/24").matches("198.51.100.255"));
        assert!(!net("198.51.100.0/24").matches("198.51.101.0"));
        assert!(net("203.0.113.7").matches("203.0.113.7"));
        assert!(!net("203.0.113.7").matches("203.0.113.8"));
        assert!(net("0.0.0.0/0").matches("8.8.8.8"));
        assert!(net("2001:db8::/32").matches("2001:db8:ffff::1"));
        assert!(!net("2001:db8::/32").matches("2001:db9::1"));
        assert!(!net("2001:db8::/32").matches("198.51.100.1"));
        assert!(!net("198.51.100.0/24").matches("s3.amazonaws.com"));
        assert!(net("::/0").matches("::1"));
    }

    #[test]
    fn bad_blocks_say_what_is_valid() {
        for bad in [
            "",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0/8",
            "host",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<IpNet>().unwrap_err().contains("CIDR"), "{bad}");
        }
    }
}
