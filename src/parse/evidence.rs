//! What a fix needs from an app's last words (its termination message or log tail): the
//! dependency it could not reach, and the path a read-only root filesystem refused.
//! `diagnose` reads them; nothing here is exported or kept.

use super::log::DEPENDENCY_UNAVAILABLE;

/// A dependency an app could not reach: a host (a name or an address), and its port
/// where the text gives one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: Option<u16>,
}

/// Words that mark a line about an unreachable dependency beside the log classifier's
/// ([`DEPENDENCY_UNAVAILABLE`]): a line that names the host without saying why (lower case).
const NAMES_A_HOST: &[&str] = &["could not connect", "connecting to", "dial tcp"];

/// Longest host kept (a DNS name is at most 253 bytes).
const MAX_HOST: usize = 253;

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'
}

/// `host:port` at the start of `s` (an IPv4 address or a DNS name, a port of 1 to 65535).
fn host_port(s: &str) -> Option<Endpoint> {
    let end = s.find(|c: char| !is_host_char(c)).unwrap_or(s.len());
    let host = &s[..end];
    let rest = s[end..].strip_prefix(':')?;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let port: u16 = rest[..digits].parse().ok().filter(|p| *p > 0)?;
    let plausible = !host.is_empty() && host.len() <= MAX_HOST && host.chars().any(|c| c.is_ascii_alphanumeric());
    plausible.then(|| Endpoint { host: host.to_string(), port: Some(port) })
}

/// The host after one of `markers` in `line` (`lookup db`, `ENOTFOUND redis`, `host "db"`).
fn host_after(line: &str, lower: &str, markers: &[&str]) -> Option<String> {
    markers.iter().find_map(|m| {
        let at = lower.find(m)? + m.len();
        let rest = line[at..].trim_start_matches([' ', '"', '\'', ':']);
        let end = rest.find(|c: char| !is_host_char(c)).unwrap_or(rest.len());
        let host = &rest[..end].trim_end_matches('.');
        (!host.is_empty() && host.len() <= MAX_HOST).then(|| host.to_string())
    })
}

/// The dependency the text says it could not reach: the last `host:port` on the last line
/// that says so (`dial tcp 10.96.0.10:5432: connect: connection refused`, `Error 111
/// connecting to redis:6379`), else the host a name lookup failed on (`lookup db on
/// 10.96.0.10:53: no such host`, `getaddrinfo ENOTFOUND redis`), with PostgreSQL's
/// `host "db" ... port 5432` read too.
pub fn unreachable_endpoint(text: &str) -> Option<Endpoint> {
    text.lines().rev().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        if !DEPENDENCY_UNAVAILABLE.iter().chain(NAMES_A_HOST).any(|w| lower.contains(w)) {
            return None;
        }
        // A failed lookup names the host; the address after `on` is the DNS server's.
        if let Some(host) = host_after(line, &lower, &["lookup ", "enotfound ", "unknownhostexception: "]) {
            return Some(Endpoint { host, port: None });
        }
        let found = line
            .char_indices()
            .filter(|(i, _)| *i == 0 || !is_host_char(line[..*i].chars().next_back().unwrap_or(' ')))
            .filter_map(|(i, _)| host_port(&line[i..]))
            .next_back();
        if found.is_some() {
            return found;
        }
        let host = host_after(line, &lower, &["host "])?;
        let port = host_after(line, &lower, &["port "]).and_then(|p| p.parse().ok()).filter(|p: &u16| *p > 0);
        Some(Endpoint { host, port })
    })
}

/// The path a read-only filesystem refused (`open /var/cache/nginx/x: read-only file
/// system`, nginx's `mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file
/// system)`): the last absolute path before the words, on the last line that has them.
pub fn read_only_path(text: &str) -> Option<String> {
    fn paths(s: &str) -> impl DoubleEndedIterator<Item = &str> {
        s.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '(' || c == '`')
            .map(|w| w.trim_end_matches([':', ',', ')', ';']))
            .filter(|w| w.starts_with('/') && w.len() > 1 && w.len() <= 4096)
    }
    text.lines().rev().find_map(|line| {
        const WORDS: &str = "read-only file system";
        let at = line.to_ascii_lowercase().find(WORDS)?;
        // Python writes the path after the words: `Read-only file system: '/app/logs'`.
        paths(&line[..at]).next_back().or_else(|| paths(&line[at + WORDS.len()..]).next()).map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, port: Option<u16>) -> Option<Endpoint> {
        Some(Endpoint { host: host.into(), port })
    }

    /// The shapes real clients write: Go, Node, redis-py, PostgreSQL, Java, DNS failures.
    #[test]
    fn the_dependency_is_read_from_what_clients_write() {
        let cases: &[(&str, Option<Endpoint>)] = &[
            ("dial tcp 10.96.0.10:5432: connect: connection refused", at("10.96.0.10", Some(5432))),
            (
                "connecting to the database\ndial tcp 127.0.0.1:5432: connect: connection refused",
                at("127.0.0.1", Some(5432)),
            ),
            ("Error: connect ECONNREFUSED 10.0.0.7:6379", at("10.0.0.7", Some(6379))),
            (
                "redis.exceptions.ConnectionError: Error 111 connecting to redis-master:6379. Connection refused.",
                at("redis-master", Some(6379)),
            ),
            (
                "dial tcp: lookup db.shop.svc.cluster.local on 10.96.0.10:53: no such host",
                at("db.shop.svc.cluster.local", None),
            ),
            ("Error: getaddrinfo ENOTFOUND rabbitmq", at("rabbitmq", None)),
            ("java.net.UnknownHostException: kafka-0.kafka", at("kafka-0.kafka", None)),
            (
                "could not connect to server: Connection refused Is the server running on host \"db\" (10.0.0.5) and accepting TCP/IP connections on port 5432?",
                at("db", Some(5432)),
            ),
            ("read tcp 10.1.2.3:41234->10.96.0.20:9092: i/o timeout", at("10.96.0.20", Some(9092))),
            ("java.net.ConnectException: Connection refused (Connection refused)", None),
            // Found by the fuzzer: a port 0 is no port.
            ("dial tcp of the host db, no such port 0", at("db", None)),
            ("listening on :8080", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(&unreachable_endpoint(text), want, "{text}");
        }
    }

    #[test]
    fn the_refused_path_is_read_from_what_programs_write() {
        let cases: &[(&str, Option<&str>)] = &[
            ("open /var/cache/app/state.db: read-only file system", Some("/var/cache/app/state.db")),
            (
                "nginx: [emerg] mkdir() \"/var/cache/nginx/client_temp\" failed (30: Read-only file system)",
                Some("/var/cache/nginx/client_temp"),
            ),
            ("OSError: [Errno 30] Read-only file system: '/app/logs'", Some("/app/logs")),
            ("touch: /tmp/x: Read-only file system", Some("/tmp/x")),
            ("permission denied", None),
        ];
        for (text, want) in cases {
            assert_eq!(read_only_path(text).as_deref(), *want, "{text}");
        }
    }
}
