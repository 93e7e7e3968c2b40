//! Which addresses a caller-given URL may reach: ordinary public unicast
//! only, after unwrapping every IPv6 form that carries an IPv4 address.
//!
//! No maintained crate does this whole job: the stable-Rust ports of the
//! standard library's unstable `is_global` (ip_rfc, ipext, nex-core) follow
//! the IANA registries' "globally reachable" column, which calls the
//! NAT64 prefix `64:ff9b::/96` global and knows nothing of the deprecated
//! IPv4-compatible (`::a.b.c.d`) and site-local (`fec0::/10`) forms: each of
//! those reaches 127.0.0.1 or 169.254.169.254 on some networks. So this is
//! an allow-list (IPv4 outside the special-purpose registry, IPv6 inside
//! global unicast `2000::/3` outside its special blocks), with the IPv4
//! inside every embedding form checked as IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is an ordinary public unicast address.
pub(crate) fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Embedded::V4(v4) => is_global_v4(v4),
            Embedded::Refused => false,
            Embedded::None => is_global_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address stands for, if any.
pub(crate) fn unwrap_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Embedded::V4(v4) => Some(v4),
            Embedded::Refused | Embedded::None => None,
        },
    }
}

enum Embedded {
    /// This IPv6 address reaches (or is translated to) this IPv4 one.
    V4(Ipv4Addr),
    /// A translation or tunnelling prefix whose IPv4 side cannot be
    /// known here (local-use NAT64, Teredo): never global.
    Refused,
    /// A plain IPv6 address.
    None,
}

fn embedded_v4(v6: Ipv6Addr) -> Embedded {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`
        // (deprecated; `::` and `::1` land on 0.0.0.0 and 0.0.0.1, both
        // refused), and SIIT's `::ffff:0:a.b.c.d`.
        [0, 0, 0, 0, 0, 0xffff, _, _]
        | [0, 0, 0, 0, 0, 0, _, _]
        | [0, 0, 0, 0, 0xffff, 0, _, _] => Embedded::V4(low),
        // NAT64's well-known prefix `64:ff9b::/96`.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Embedded::V4(low),
        // 6to4 `2002:AABB:CCDD::/48` tunnels to a.b.c.d.
        [0x2002, hi, lo, ..] => Embedded::V4(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        // Local-use NAT64 `64:ff9b:1::/48` and Teredo `2001::/32`.
        [0x64, 0xff9b, 1, ..] | [0x2001, 0, ..] => Embedded::Refused,
        _ => Embedded::None,
    }
}

/// IPv4 outside every block of the IANA special-purpose registry.
fn is_global_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(a == 0 // "this network"
        || v4.is_private() // 10/8, 172.16/12, 192.168/16
        || (a == 100 && (b & 0xc0) == 64) // shared (carrier-grade NAT) 100.64/10
        || v4.is_loopback() // 127/8
        || v4.is_link_local() // 169.254/16 (cloud metadata)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || v4.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18/15
        || v4.is_multicast() // 224/4
        || a >= 240) // reserved 240/4 and broadcast
}

/// IPv6 inside global unicast `2000::/3`, outside its special blocks.
fn is_global_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let special = match s[0] {
        // IETF protocol assignments 2001::/23; documentation 2001:db8::/32.
        0x2001 => s[1] < 0x200 || s[1] == 0x0db8,
        // Documentation 3fff::/20.
        0x3fff => s[1] < 0x1000,
        _ => false,
    };
    (s[0] & 0xe000) == 0x2000 && !special
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(ip: &str) -> bool {
        is_global(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            // 6to4 and NAT64 of a public address are that address.
            "2002:0808:0808::1",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ] {
            assert!(global(ip), "{ip} should be global");
        }
    }

    /// Every form the outside probe got through (issue 18), and the rest
    /// of the special-purpose registries.
    #[test]
    fn embedded_and_special_forms_are_refused() {
        for ip in [
            // Found by the probe.
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "fec0::1",
            "2001::1",
            "100::1",
            "192.0.0.8",
            // IPv4.
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.9",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6 and its embedding forms.
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::808:808",
            "2002:a9fe:a9fe::1",
            "2002:0a00:0001::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "ff0e::1",
            "5f00::1",
            "4000::1",
            "1000::1",
        ] {
            assert!(!global(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn unwrapping_finds_the_ipv4_inside() {
        for (ip, v4) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("2002:7f00:1::1", "127.0.0.1"),
            ("10.1.2.3", "10.1.2.3"),
        ] {
            assert_eq!(unwrap_v4(ip.parse().unwrap()), Some(v4.parse().unwrap()));
        }
        assert_eq!(unwrap_v4("2606:4700::1111".parse().unwrap()), None);
    }
}
