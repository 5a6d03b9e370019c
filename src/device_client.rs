//! The `device` subcommand: plays a product instance against a running
//! portal over HTTP (register with a token, report usage, deregister), for
//! demos and tests. A tiny HTTP/1.1 client over `TcpStream`, for `http://`
//! addresses only (put a TLS-terminating proxy's plain side in front, or use
//! curl, for `https://`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// POSTs a JSON body to `base_url` + `path`, with an optional bearer secret.
pub fn post_json(base_url: &str, path: &str, bearer: Option<&str>, body: &serde_json::Value) -> anyhow::Result<Response> {
    let url = url::Url::parse(base_url).map_err(|e| anyhow::anyhow!("--url: {e}"))?;
    if url.scheme() != "http" {
        anyhow::bail!("--url: only http:// addresses are supported by the built-in client");
    }
    let host = url.host_str().ok_or_else(|| anyhow::anyhow!("--url: no host"))?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let prefix = url.path().trim_end_matches('/');
    let payload = serde_json::to_vec(body)?;
    let mut stream = TcpStream::connect((host.as_str(), port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "POST {prefix}{path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        payload.len()
    );
    if let Some(secret) = bearer {
        head.push_str(&format!("Authorization: Bearer {secret}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&payload)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Parses an HTTP/1.1 response (Content-Length or chunked body).
pub fn parse_response(raw: &[u8]) -> anyhow::Result<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| anyhow::anyhow!("malformed HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("malformed status line"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { break };
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim().split(';').next().unwrap_or("0"), 16)?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
            rest = &rest[(start + size + 2).min(rest.len())..];
        }
        body = out;
    }
    Ok(Response { status, body: String::from_utf8_lossy(&body).to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_with_length_and_chunked_bodies_parse() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!(r, Response { status: 201, body: "{}".into() });
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, "{\"a\":1}");
        assert!(parse_response(b"garbage").is_err());
    }
}
