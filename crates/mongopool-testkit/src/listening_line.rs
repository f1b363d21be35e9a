//! Reading the port out of the server's startup line.
//!
//! `secantusd-rs --port 0` prints exactly one line on stdout once it is bound:
//! `secantusd-rs listening on 127.0.0.1:33143` (IPv6: `... listening on [::1]:33201`).

const MARKER: &str = "listening on ";

/// The port in a `... listening on HOST:PORT` line, `None` for any other line.
pub(crate) fn parse_listening_port(line: &str) -> Option<u16> {
    let (_, address) = line.split_once(MARKER)?;
    let (_, port) = address.trim().rsplit_once(':')?;
    match port.parse::<u16>() {
        Ok(0) | Err(_) => None,
        Ok(port) => Some(port),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_listening_port;

    #[test]
    fn reads_ipv4_line() {
        assert_eq!(
            parse_listening_port("secantusd-rs listening on 127.0.0.1:33143\n"),
            Some(33143)
        );
    }

    #[test]
    fn reads_ipv6_line() {
        assert_eq!(
            parse_listening_port("secantusd-rs listening on [::1]:33201"),
            Some(33201)
        );
    }

    #[test]
    fn ignores_other_lines() {
        for line in [
            "",
            "secantusd-rs: failed to bind 127.0.0.1:27017: Address already in use (os error 98)",
            "secantusd-rs listening on 127.0.0.1:",
            "secantusd-rs listening on 127.0.0.1:0",
            "secantusd-rs listening on 127.0.0.1:70000",
            "secantusd-rs listening on nowhere",
        ] {
            assert_eq!(parse_listening_port(line), None, "{line:?}");
        }
    }
}
