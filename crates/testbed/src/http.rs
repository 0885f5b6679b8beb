//! A minimal HTTP/1.x client over a fresh loopback connection per request: what tests and
//! benchmarks scrape the exporter, Prometheus and Alertmanager with, seeing the answer as
//! the server wrote it (status, headers, a chunked body decoded, nothing decompressed).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Status, headers (lower-cased names), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// How long a request may take, connect to last byte, before it fails with `TimedOut`: twice
/// the exporter's own bound on a request (30 s), so that a server that hangs fails its test
/// instead of hanging it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

async fn bounded<T>(request: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    tokio::time::timeout(CLIENT_TIMEOUT, request).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {CLIENT_TIMEOUT:?}")))
    })
}

/// A GET in HTTP/1.1 (`Connection: close`) with `headers`: status, headers, body.
pub async fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Answer> {
    exchange(addr, &get_request(addr, path, headers)).await
}

/// [`http_get`], timed from before the connect: time to the first byte of the answer, time
/// to its last, and the answer.
pub async fn http_get_timed(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(Duration, Duration, Answer)> {
    let request = get_request(addr, path, headers);
    bounded(async {
        let started = Instant::now();
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = vec![0; 64 * 1024];
        let first = stream.read(&mut raw).await?;
        let ttfb = started.elapsed();
        raw.truncate(first);
        stream.read_to_end(&mut raw).await?;
        let total = started.elapsed();
        Ok((ttfb, total, parse_response(raw)?))
    })
    .await
}

/// A GET in HTTP/1.0, so that Go's server answers without chunked encoding: status, body.
pub async fn get10(addr: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let (status, _, body) = exchange(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")).await?;
    Ok((status, body))
}

/// A POST of a JSON body in HTTP/1.0 (Alertmanager's API, etcd's gateway): status, body.
pub async fn post10(addr: &str, path: &str, json: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    let (status, _, body) = exchange(addr, &request).await?;
    Ok((status, body))
}

fn get_request(addr: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Sends `request` on a fresh connection and reads until the server closes it.
async fn exchange(addr: &str, request: &str) -> std::io::Result<Answer> {
    bounded(async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        parse_response(raw)
    })
    .await
}

/// Status, headers (lower-cased names) and body of a raw HTTP/1.x answer.
pub(crate) fn parse_response(raw: Vec<u8>) -> std::io::Result<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(std::io::ErrorKind::InvalidData)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Ok((status, headers, body))
}

/// A chunked HTTP/1.1 body, decoded; an error if it is cut short (no last chunk).
fn dechunk(mut rest: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunked body: {what}"));
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(|| bad("cut short"))?;
        let size = std::str::from_utf8(&rest[..line_end]).map_err(|_| bad("size line"))?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).map_err(|_| bad("size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or_else(|| bad("cut short"))?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or_else(|| bad("cut short"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_with_their_chunked_bodies_decoded() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n";
        let (status, headers, body) = parse_response(raw.to_vec()).expect("an answer");
        assert_eq!((status, body.as_slice()), (200, &b"hello world"[..]));
        assert!(headers.contains(&("content-type".into(), "text/plain".into())));
        let plain = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\nnope".to_vec()).expect("an answer");
        assert_eq!((plain.0, plain.2.as_slice()), (404, &b"nope"[..]));
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert!(parse_response(cut.to_vec()).is_err(), "a body cut short is an error");
        assert!(parse_response(b"garbage".to_vec()).is_err());
    }
}
