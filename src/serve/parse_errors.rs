//! Requests hyper cannot parse (two differing `Content-Length`s, too many or too large
//! header fields, a malformed request line) never reach the router: hyper answers them
//! itself, with an empty body, and closes the connection. This adapter around the socket
//! gives those answers the RFC 6749 §5.2 JSON body every other error has.
//!
//! It recognises them by their shape, which no response of the router has: a 4xx or 5xx head
//! written alone, with `content-length: 0` and `connection: close` (every error the router
//! sends has a JSON body). Everything else passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection's socket whose parse-error answers get a JSON body.
pub struct JsonParseErrors<T> {
    inner: T,
    /// A parse-error answer being written in place of hyper's, and how many bytes of hyper's
    /// to report written once it is.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl<T> JsonParseErrors<T> {
    pub fn new(inner: T) -> Self {
        JsonParseErrors {
            inner,
            rewrite: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonParseErrors<T> {
    /// Writes the pending rewrite; reports hyper's bytes written once all of it is.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, reported)) = &mut self.rewrite else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let reported = *reported;
        self.rewrite = None;
        Poll::Ready(Ok(reported))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            match with_json_body(buf) {
                Some(bytes) => this.rewrite = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        this.poll_rewrite(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            // A parse error's answer is a head alone: one non-empty slice.
            let mut written = bufs.iter().filter(|b| !b.is_empty());
            let rewritten = match (written.next(), written.next()) {
                (Some(only), None) => with_json_body(only).map(|bytes| (bytes, only.len())),
                _ => None,
            };
            match rewritten {
                Some((bytes, len)) => this.rewrite = Some((bytes, 0, len)),
                None => return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
            }
        }
        this.poll_rewrite(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    /// A rewrite left pending is finished by hyper's next write of the same bytes, which it
    /// makes before anything else.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// hyper's answer to a request it could not parse, with a JSON body in place of the empty
/// one; `None` for anything else.
fn with_json_body(head: &[u8]) -> Option<Vec<u8>> {
    // Every write passes here: look at the status and the end before reading anything whole.
    let error_status = matches!(head.get(9), Some(b'4' | b'5'));
    if !(head.starts_with(b"HTTP/1.") && error_status && head.ends_with(b"\r\n\r\n")) {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?;
    if !(status.starts_with('4') || status.starts_with('5')) {
        return None;
    }
    let mut empty = false;
    let mut closing = false;
    let mut kept = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            empty = value == "0";
        } else if name.eq_ignore_ascii_case("connection") {
            closing = value.eq_ignore_ascii_case("close");
            kept.push(line);
        } else if name.eq_ignore_ascii_case("content-type") {
            return None;
        } else {
            kept.push(line);
        }
    }
    if !(empty && closing) {
        return None;
    }
    let body = format!(
        r#"{{"error":"invalid_request","error_description":"{}"}}"#,
        description(status)
    );
    let mut answer = String::with_capacity(head.len() + body.len() + 96);
    answer.push_str(status_line);
    answer.push_str("\r\n");
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str("content-type: application/json\r\ncache-control: no-store\r\n");
    answer.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    answer.push_str(&body);
    Some(answer.into_bytes())
}

/// RFC 6749 §5.2's `error_description` for each status hyper answers on its own.
fn description(status: &str) -> &'static str {
    match status {
        "431" => "the request's header fields are too large or too many",
        "414" => "the request target is too long",
        "413" => "the request body is too large",
        "505" => "only HTTP/1.1 and HTTP/1.0 are served",
        "501" => "the request uses a transfer coding this server does not implement",
        _ => "the request is not valid HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::with_json_body;

    const HYPER_400: &str = "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 03:52:37 GMT\r\n\r\n";

    #[test]
    fn hypers_empty_400_gets_the_json_error_body_and_its_length() {
        let answer = String::from_utf8(with_json_body(HYPER_400.as_bytes()).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/json"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", body.len())),
            "{head}"
        );
        assert!(!head.contains("content-length: 0"), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "invalid_request");
        assert_eq!(
            json["error_description"],
            "the request is not valid HTTP/1.1"
        );
    }

    #[test]
    fn a_431_says_the_header_fields_are_too_large() {
        let head = HYPER_400.replace("400 Bad Request", "431 Request Header Fields Too Large");
        let answer = String::from_utf8(with_json_body(head.as_bytes()).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert!(answer.contains("header fields are too large"), "{answer}");
    }

    #[test]
    fn responses_of_the_router_pass_untouched() {
        for head in [
            // A success, and an error with its JSON body's length.
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 88\r\nconnection: close\r\n\r\n",
            // Kept alive: not hyper's parse-error answer.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            // Not a whole head.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n",
            "{\"error\":\"invalid_request\"}",
        ] {
            assert_eq!(with_json_body(head.as_bytes()), None, "{head}");
        }
    }
}
