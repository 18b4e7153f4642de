//! Parsing HTTP/1.1 request and response heads, just enough to frame messages and match
//! requests. Anything unexpected is an error, and the caller stops framing that connection
//! (it keeps forwarding bytes untouched).

/// The largest head the proxy frames; a larger one switches the connection to plain forwarding.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Why a head could not be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadError(pub &'static str);

/// The parts of a request head the proxy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// The method as sent (`GET`, `PUT`, …).
    pub method: String,
    /// The request target as sent.
    pub target: String,
    /// A `Content-Length`, when given (and no `Transfer-Encoding`).
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The client asked to close after this exchange (`Connection: close`, or HTTP/1.0 without
    /// keep-alive).
    pub close: bool,
    /// `CONNECT` or an `Upgrade` header: the connection stops being HTTP after this.
    pub upgrade: bool,
}

impl RequestHead {
    /// The path of the target: without scheme and authority (absolute form) and without the
    /// query. Percent-encoding is left as sent.
    pub(crate) fn path(&self) -> &str {
        let mut target = self.target.as_str();
        if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            target = rest.find('/').map_or("/", |i| &rest[i..]);
        }
        target.split(['?', '#']).next().unwrap_or("/")
    }
}

/// The parts of a response head the proxy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// A `Content-Length`, when given (and no `Transfer-Encoding`).
    pub content_length: Option<u64>,
    /// The body is chunked.
    pub chunked: bool,
    /// A `Transfer-Encoding` other than chunked: the body runs to the end of the connection.
    pub other_encoding: bool,
}

/// Where the head in `buf` ends (the index just after its empty line), scanning from `from`.
/// Accepts CRLF and bare LF line ends.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let nl = i + buf[i..].iter().position(|&b| b == b'\n')?;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// The lines of a head, without line ends, up to the empty line.
fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The header fields that matter for framing, gathered from the lines after the start line.
#[derive(Default)]
struct Fields {
    content_length: Option<u64>,
    transfer_encoding: Option<String>,
    connection_close: bool,
    keep_alive: bool,
    expect_continue: bool,
    upgrade: bool,
}

fn fields<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Result<Fields, HeadError> {
    let mut f = Fields::default();
    for line in lines {
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            return Err(HeadError("obsolete header line folding"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HeadError("header line without a colon"))?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !is_token(name) {
            return Err(HeadError("bad header name"));
        }
        let value = std::str::from_utf8(value)
            .map_err(|_| HeadError("header value is not UTF-8"))?
            .trim();
        let name = std::str::from_utf8(name).unwrap_or_default();
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let n: u64 = part
                    .trim()
                    .parse()
                    .map_err(|_| HeadError("bad Content-Length"))?;
                if f.content_length.is_some_and(|m| m != n) {
                    return Err(HeadError("conflicting Content-Length values"));
                }
                f.content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let joined = match f.transfer_encoding.take() {
                Some(before) => format!("{before}, {value}"),
                None => value.to_owned(),
            };
            f.transfer_encoding = Some(joined);
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                f.connection_close |= token.eq_ignore_ascii_case("close");
                f.keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") {
            f.expect_continue |= value.eq_ignore_ascii_case("100-continue");
        } else if name.eq_ignore_ascii_case("upgrade") {
            f.upgrade = true;
        }
    }
    Ok(f)
}

/// Whether a `Transfer-Encoding` value ends in `chunked`.
fn ends_chunked(te: &str) -> bool {
    te.rsplit(',')
        .next()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
}

/// Parse `HTTP/1.0` or `HTTP/1.1`, returning whether it is 1.0.
fn version(v: &[u8]) -> Result<bool, HeadError> {
    match v {
        b"HTTP/1.1" => Ok(false),
        b"HTTP/1.0" => Ok(true),
        _ => Err(HeadError("not HTTP/1.0 or HTTP/1.1")),
    }
}

/// Parse a request head (the bytes up to and including the empty line).
pub(crate) fn parse_request(head: &[u8]) -> Result<RequestHead, HeadError> {
    let mut lines = lines(head);
    let start = lines.next().ok_or(HeadError("empty request head"))?;
    let mut parts = start.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(v), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError("malformed request line"));
    };
    if !is_token(method) || target.is_empty() {
        return Err(HeadError("malformed request line"));
    }
    let http10 = version(v)?;
    let method = String::from_utf8_lossy(method).into_owned();
    let target = std::str::from_utf8(target)
        .map_err(|_| HeadError("request target is not UTF-8"))?
        .to_owned();
    let f = fields(lines)?;
    let chunked = match &f.transfer_encoding {
        Some(te) if ends_chunked(te) => true,
        Some(_) => return Err(HeadError("request with a non-chunked Transfer-Encoding")),
        None => false,
    };
    Ok(RequestHead {
        upgrade: f.upgrade || method.eq_ignore_ascii_case("CONNECT"),
        method,
        target,
        content_length: if chunked { None } else { f.content_length },
        chunked,
        expect_continue: f.expect_continue,
        close: f.connection_close || (http10 && !f.keep_alive),
    })
}

/// Parse a response head (the bytes up to and including the empty line).
pub(crate) fn parse_response(head: &[u8]) -> Result<ResponseHead, HeadError> {
    let mut lines = lines(head);
    let start = lines.next().ok_or(HeadError("empty response head"))?;
    let mut parts = start.splitn(3, |&b| b == b' ');
    let (Some(v), Some(code)) = (parts.next(), parts.next()) else {
        return Err(HeadError("malformed status line"));
    };
    version(v)?;
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(HeadError("malformed status code"));
    }
    let status = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    let f = fields(lines)?;
    let (chunked, other_encoding) = match &f.transfer_encoding {
        Some(te) if ends_chunked(te) => (true, false),
        Some(_) => (false, true),
        None => (false, false),
    };
    Ok(ResponseHead {
        status,
        content_length: if chunked || other_encoding {
            None
        } else {
            f.content_length
        },
        chunked,
        other_encoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_a_head_with_crlf_or_lf() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY";
        assert_eq!(find_head_end(head, 0), Some(head.len() - 4));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: x\n\nB", 0), Some(24));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 0), None);
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r", 0), None);
    }

    #[test]
    fn parses_a_put_with_expect_continue() {
        let head = parse_request(
            b"PUT /chaos/3.5/a%20b?partNumber=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              content-length: 42\r\nExpect: 100-continue\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(head.method, "PUT");
        assert_eq!(head.path(), "/chaos/3.5/a%20b");
        assert_eq!(head.content_length, Some(42));
        assert!(head.expect_continue && !head.chunked && !head.close);
    }

    #[test]
    fn parses_framing_headers() {
        let head = parse_request(
            b"POST http://h:9000/b/k HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(head.path(), "/b/k");
        assert!(head.chunked && head.close);
        assert_eq!(head.content_length, None);
        assert!(parse_request(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").is_err());
        assert!(parse_request(b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n").is_err());
        assert!(parse_request(b"GET / HTTP/2.0\r\n\r\n").is_err());
        assert!(parse_request(b"GET /\r\n\r\n").is_err());
        assert!(parse_request(b"\xff\xfe").is_err());
        assert!(parse_request(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n").is_err());
        assert!(
            parse_request(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n")
                .expect("parses")
                .upgrade
        );
    }

    #[test]
    fn parses_responses() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n").expect("ok");
        assert_eq!(
            (r.status, r.content_length, r.chunked),
            (200, Some(10), false)
        );
        let r = parse_response(b"HTTP/1.1 100 Continue\r\n\r\n").expect("ok");
        assert_eq!(r.status, 100);
        let r = parse_response(b"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n").expect("ok");
        assert!(r.chunked);
        assert!(parse_response(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }
}
