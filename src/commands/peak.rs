//! `diagnose --prometheus-url`: a container's peak working set, from cAdvisor's
//! `container_memory_working_set_bytes` in the user's Prometheus, so that a memory fix
//! starts from what the container used, not only from the limit it hit. One instant query
//! per OOM-killed container, over plain HTTP, sent only with the flag.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// The window the peak is taken over: the instance the kill ended is in it for an hour.
pub(super) const PEAK_WINDOW: &str = "1h";
/// How long the query may take, connection included.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest answer read.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// A label value in a PromQL string literal.
fn quoted(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The PromQL of a container's peak working set in [`PEAK_WINDOW`] (`container` and
/// `image` not empty: not the pod's own cgroup, nor the pause container, as the
/// kubernetes-mixin and the dashboards take it).
pub(super) fn peak_query(namespace: &str, pod: &str, container: &str) -> String {
    format!(
        "max(max_over_time(container_memory_working_set_bytes{{namespace={},pod={},container={},image!=\"\"}}[{PEAK_WINDOW}]))",
        quoted(namespace),
        quoted(pod),
        quoted(container)
    )
}

/// The value of the first sample of an instant query's answer (`/api/v1/query`); `None`
/// for no sample (cAdvisor not scraped, or the container too old).
pub(super) fn parse_instant(body: &[u8]) -> Result<Option<f64>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        status: String,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        data: Option<Data>,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        #[serde(default)]
        result: Vec<Sample>,
    }
    #[derive(serde::Deserialize)]
    struct Sample {
        value: (serde_json::Value, String),
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| format!("not a Prometheus answer: {e}"))?;
    if answer.status != "success" {
        return Err(answer.error.unwrap_or(answer.status));
    }
    let Some(sample) = answer.data.and_then(|d| d.result.into_iter().next()) else { return Ok(None) };
    sample.value.1.parse::<f64>().map(Some).map_err(|e| format!("a sample of {:?}: {e}", sample.value.1))
}

/// `http://HOST[:PORT][/PREFIX]`: the address to connect to, the Host header and the path
/// prefix (a Prometheus behind a route prefix).
pub(super) fn parse_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("--prometheus-url {url}: only http:// is spoken (use kubectl port-forward for a Prometheus behind TLS)")
    })?;
    let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    if authority.is_empty() {
        return Err(format!("--prometheus-url {url}: no host"));
    }
    let address = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let prefix = prefix.trim_end_matches('/');
    let prefix = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
    Ok((address, authority.to_string(), prefix))
}

/// A query string's value, percent-encoded.
fn encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Asks the Prometheus at `url` for the container's peak working set, in bytes.
pub(super) async fn peak_working_set(
    url: &str,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Result<Option<u64>, String> {
    let (address, host, prefix) = parse_url(url)?;
    let path = format!("{prefix}/api/v1/query?query={}", encoded(&peak_query(namespace, pod, container)));
    let ask = async {
        let stream =
            tokio::net::TcpStream::connect(&address).await.map_err(|e| format!("connecting to {address}: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        if !status.is_success() && status != hyper::StatusCode::BAD_REQUEST && status.as_u16() != 422 {
            return Err(format!("HTTP {status}"));
        }
        parse_instant(&body)
    };
    let value = tokio::time::timeout(QUERY_TIMEOUT, ask)
        .await
        .map_err(|_| format!("no answer from {url} in {} s", QUERY_TIMEOUT.as_secs()))??;
    Ok(value.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_container_and_escapes_its_labels() {
        assert_eq!(
            peak_query("shop", "api-7c9d", "app"),
            r#"max(max_over_time(container_memory_working_set_bytes{namespace="shop",pod="api-7c9d",container="app",image!=""}[1h]))"#
        );
        assert!(peak_query("a\"b", "p", "c").contains(r#"namespace="a\"b""#));
        assert_eq!(encoded("a b{\"}=/"), "a%20b%7B%22%7D%3D%2F");
    }

    #[test]
    fn answers_read_as_prometheus_writes_them() {
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796624159.123,"267386880"]}]}}"#;
        assert_eq!(parse_instant(ok), Ok(Some(267_386_880.0)));
        let none = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_instant(none), Ok(None));
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(parse_instant(bad), Err("parse error".into()));
        assert!(parse_instant(b"<html>").is_err());
    }

    #[test]
    fn urls_read_as_users_write_them() {
        let url = |u: &str| parse_url(u);
        assert_eq!(url("http://localhost:9090"), Ok(("localhost:9090".into(), "localhost:9090".into(), String::new())));
        assert_eq!(url("http://prometheus/"), Ok(("prometheus:80".into(), "prometheus".into(), String::new())));
        assert_eq!(
            url("http://10.0.0.5:9090/prometheus/"),
            Ok(("10.0.0.5:9090".into(), "10.0.0.5:9090".into(), "/prometheus".into()))
        );
        assert!(url("https://prometheus:9090").is_err_and(|e| e.contains("only http://")));
        assert!(url("http://").is_err());
    }
}
