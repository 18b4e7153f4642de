//! The S3 error answers the proxy writes in place of the server.

use std::fmt::Write as _;

use bytes::Bytes;

use super::head::RequestHead;
use crate::fault::proxy::toxic::S3ErrorCode;

use crate::text::xml_escape;

/// A complete HTTP/1.1 response carrying S3's XML error document for `code`, as S3 and MinIO
/// send it: `application/xml`, `Content-Length`, a request id. A HEAD gets the head only.
/// With `close` it carries `Connection: close`.
pub(crate) fn error_response(code: S3ErrorCode, request: &RequestHead, close: bool) -> Bytes {
    let request_id = format!("{:016X}", rand::random::<u64>());
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
         <Resource>{}</Resource><RequestId>{}</RequestId><HostId>spark-chaos-proxy</HostId></Error>",
        code.code(),
        code.message(),
        xml_escape(request.path()),
        request_id
    );
    let mut out = String::with_capacity(body.len() + 256);
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         x-amz-request-id: {}\r\nx-amz-id-2: spark-chaos-proxy\r\nServer: spark-chaos-proxy\r\n",
        code.status(),
        code.reason(),
        body.len(),
        request_id
    );
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    if !request.method.eq_ignore_ascii_case("HEAD") {
        out.push_str(&body);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::proxy::http::head::{parse_request, parse_response};

    #[test]
    fn renders_a_slow_down_with_an_xml_body() {
        let req = parse_request(b"GET /chaos/3.5/a&b HTTP/1.1\r\nHost: h\r\n\r\n").expect("ok");
        let resp = error_response(S3ErrorCode::SlowDown, &req, false);
        let text = std::str::from_utf8(&resp).expect("utf-8");
        let end = text.find("\r\n\r\n").expect("head") + 4;
        let head = parse_response(&resp[..end]).expect("parses");
        assert_eq!(head.status, 503);
        assert_eq!(head.content_length, Some((resp.len() - end) as u64));
        assert!(text.starts_with("HTTP/1.1 503 Slow Down\r\n"));
        assert!(text.contains("<Code>SlowDown</Code>"));
        assert!(text.contains("<Resource>/chaos/3.5/a&amp;b</Resource>"));
        assert!(!text.contains("Connection: close"));
    }

    #[test]
    fn a_head_gets_no_body() {
        let req = parse_request(b"HEAD /b/k HTTP/1.1\r\n\r\n").expect("ok");
        let resp = error_response(S3ErrorCode::AccessDenied, &req, true);
        let text = std::str::from_utf8(&resp).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }
}
