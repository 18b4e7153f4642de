//! HTTP/1.1 message framing as push state machines: bytes in, segments out. No I/O, no
//! buffering of bodies: a body is only counted (`Content-Length`) or scanned for chunk sizes
//! (`chunked`); only heads are collected, up to [`MAX_HEAD`].

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::head::{find_head_end, parse_request, parse_response, RequestHead, MAX_HEAD};
use super::s3::error_response;
use super::{Decision, Exchange};

/// The largest chunk-size or trailer line accepted in a chunked body.
const MAX_LINE: usize = 8 * 1024;

/// What the pump does with the bytes it read, in order.
#[derive(Debug, PartialEq)]
pub(crate) enum Seg {
    /// Forward `input[range]`.
    Input(Range<usize>),
    /// Forward these bytes (a head collected across reads).
    Bytes(Bytes),
    /// These many bytes of input are dropped (an answered request's body, a lingering client,
    /// the tail of a truncated response).
    Discard(usize),
    /// Write nothing of what follows before this much time has passed.
    Hold(Duration),
    /// A request was seen: tell the response side (request side only).
    Exchange(Exchange),
    /// An answer made by the proxy (response side only).
    Injected(Bytes),
    /// Half-close the destination after what precedes and keep discarding input for a while
    /// (request side, after an answer that closes the connection).
    Linger,
    /// Half-close the destination after what precedes, then end this flow; with `whole`, close
    /// the whole connection (response side).
    Close {
        /// Close the other flow too.
        whole: bool,
    },
    /// A response is being truncated (for the counters).
    Truncated,
    /// The connection stopped being framed (for the counters).
    Unframed,
}

/// A message body being counted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// This many bytes are left.
    Length(u64),
    /// A chunked body.
    Chunked(Chunked),
}

impl Body {
    /// Consume the body's bytes from `input`: how many belong to it, and whether it ended.
    fn advance(&mut self, input: &[u8]) -> Result<(usize, bool), &'static str> {
        match self {
            Body::Length(left) => {
                let take = (*left).min(input.len() as u64);
                *left -= take;
                Ok((take as usize, *left == 0))
            }
            Body::Chunked(c) => c.advance(input),
        }
    }
}

/// The state of a chunked body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Chunked {
    /// Reading a chunk-size line.
    Size {
        /// The size so far.
        value: u64,
        /// Hex digits seen.
        digits: u8,
        /// In the extension part (after `;` or whitespace).
        ext: bool,
        /// Line length so far.
        len: usize,
    },
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, expecting CR LF.
    DataEnd {
        /// The CR was seen.
        cr: bool,
    },
    /// In the trailer section; the current line's length.
    Trailer(usize),
    /// Done.
    Done,
}

impl Chunked {
    /// A chunked body about to start.
    pub(crate) fn new() -> Self {
        Chunked::Size {
            value: 0,
            digits: 0,
            ext: false,
            len: 0,
        }
    }

    /// Consume chunked-body bytes: how many of `input` belong to the body, and whether it ended.
    pub(crate) fn advance(&mut self, input: &[u8]) -> Result<(usize, bool), &'static str> {
        let mut i = 0;
        while i < input.len() {
            match self {
                Chunked::Done => return Ok((i, true)),
                Chunked::Data(left) => {
                    let take = (*left).min((input.len() - i) as u64);
                    i += take as usize;
                    *left -= take;
                    if *left == 0 {
                        *self = Chunked::DataEnd { cr: false };
                    }
                }
                Chunked::DataEnd { cr } => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\r' if !*cr => *cr = true,
                        b'\n' => *self = Chunked::new(),
                        _ => return Err("chunk data not followed by CRLF"),
                    }
                }
                Chunked::Size {
                    value,
                    digits,
                    ext,
                    len,
                } => {
                    let b = input[i];
                    i += 1;
                    *len += 1;
                    if *len > MAX_LINE {
                        return Err("chunk-size line too long");
                    }
                    match b {
                        b'\n' if *digits == 0 => return Err("chunk-size line without a size"),
                        b'\n' if *value == 0 => *self = Chunked::Trailer(0),
                        b'\n' => *self = Chunked::Data(*value),
                        b'\r' => {}
                        _ if *ext => {}
                        b';' | b' ' | b'\t' if *digits > 0 => *ext = true,
                        _ => {
                            let d = (b as char)
                                .to_digit(16)
                                .ok_or("chunk size is not hexadecimal")?;
                            if *digits >= 15 {
                                return Err("chunk size too large");
                            }
                            *value = *value * 16 + u64::from(d);
                            *digits += 1;
                        }
                    }
                }
                Chunked::Trailer(len) => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'\n' if *len == 0 => {
                            *self = Chunked::Done;
                            return Ok((i, true));
                        }
                        b'\n' => *len = 0,
                        b'\r' => {}
                        _ => {
                            *len += 1;
                            if *len > MAX_LINE {
                                return Err("trailer line too long");
                            }
                        }
                    }
                }
            }
        }
        Ok((i, matches!(self, Chunked::Done)))
    }
}

/// Collect head bytes from `input[pos..]` into `buf`. Returns the head once complete, and the
/// position in `input` where the rest starts.
enum Collect {
    /// The head is complete.
    Head(Bytes, usize),
    /// All of `input` went into the head so far.
    More,
    /// The head is larger than the limit: these are the bytes collected.
    TooLarge(Bytes),
}

fn collect(buf: &mut BytesMut, input: &[u8], pos: usize) -> Collect {
    let scan_from = buf.len().saturating_sub(3);
    buf.extend_from_slice(&input[pos..]);
    match find_head_end(buf, scan_from) {
        Some(end) => {
            let rest = input.len() - (buf.len() - end);
            buf.truncate(end);
            Collect::Head(buf.split().freeze(), rest)
        }
        None if buf.len() > MAX_HEAD => Collect::TooLarge(buf.split().freeze()),
        None => Collect::More,
    }
}

#[derive(Debug)]
enum ReqState {
    Head,
    Body { body: Body, forward: bool },
    Linger,
    Passthrough,
}

/// Frames the client → upstream flow: parses each request head, decides its fate, forwards or
/// discards its body.
#[derive(Debug)]
pub(crate) struct RequestFramer {
    state: ReqState,
    head: BytesMut,
}

impl RequestFramer {
    /// A framer at the start of a connection.
    pub(crate) fn new() -> Self {
        RequestFramer {
            state: ReqState::Head,
            head: BytesMut::new(),
        }
    }

    /// Bytes of a head still being collected (forwarded as they are when the client ends).
    pub(crate) fn take_partial(&mut self) -> Option<Bytes> {
        (!self.head.is_empty()).then(|| self.head.split().freeze())
    }

    /// Frame `input`, appending what to do with it to `out`. `decide` is asked once per request.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        decide: &mut dyn FnMut(&RequestHead) -> Decision,
        out: &mut Vec<Seg>,
    ) {
        let mut pos = 0;
        while pos < input.len() {
            match &mut self.state {
                ReqState::Passthrough => {
                    out.push(Seg::Input(pos..input.len()));
                    pos = input.len();
                }
                ReqState::Linger => {
                    out.push(Seg::Discard(input.len() - pos));
                    pos = input.len();
                }
                ReqState::Body { body, forward } => match body.advance(&input[pos..]) {
                    Ok((used, done)) => {
                        if used > 0 {
                            out.push(if *forward {
                                Seg::Input(pos..pos + used)
                            } else {
                                Seg::Discard(used)
                            });
                        }
                        pos += used;
                        if done {
                            self.state = ReqState::Head;
                        }
                    }
                    Err(_) if *forward => {
                        // Keep forwarding untouched; the response side stops framing once the
                        // response to this request is through.
                        out.push(Seg::Exchange(Exchange::Unframed));
                        out.push(Seg::Unframed);
                        self.state = ReqState::Passthrough;
                    }
                    Err(_) => {
                        // The body of an answered request cannot be skipped: close.
                        out.push(Seg::Linger);
                        self.state = ReqState::Linger;
                    }
                },
                ReqState::Head => {
                    if self.head.is_empty() {
                        // Stray line ends between messages are forwarded as they are.
                        let blank = input[pos..]
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        if blank > 0 {
                            out.push(Seg::Input(pos..pos + blank));
                            pos += blank;
                            continue;
                        }
                    }
                    match collect(&mut self.head, input, pos) {
                        Collect::More => pos = input.len(),
                        Collect::TooLarge(bytes) => {
                            out.push(Seg::Exchange(Exchange::Unframed));
                            out.push(Seg::Unframed);
                            out.push(Seg::Bytes(bytes));
                            self.state = ReqState::Passthrough;
                            pos = input.len();
                        }
                        Collect::Head(bytes, rest) => {
                            pos = rest;
                            self.start(bytes, decide, out);
                        }
                    }
                }
            }
        }
    }

    fn start(
        &mut self,
        bytes: Bytes,
        decide: &mut dyn FnMut(&RequestHead) -> Decision,
        out: &mut Vec<Seg>,
    ) {
        let head = match parse_request(&bytes) {
            Ok(head) if !head.upgrade => head,
            _ => {
                out.push(Seg::Exchange(Exchange::Unframed));
                out.push(Seg::Unframed);
                out.push(Seg::Bytes(bytes));
                self.state = ReqState::Passthrough;
                return;
            }
        };
        let body = if head.chunked {
            Some(Body::Chunked(Chunked::new()))
        } else {
            head.content_length.filter(|&n| n > 0).map(Body::Length)
        };
        let decision = decide(&head);
        if decision.unframe {
            out.push(Seg::Exchange(Exchange::Unframed));
            out.push(Seg::Unframed);
            out.push(Seg::Bytes(bytes));
            self.state = ReqState::Passthrough;
            return;
        }
        if let Some(code) = decision.answer {
            // With Expect: 100-continue the client may or may not send the body after a final
            // answer, so the only consistent end is to close.
            let close = head.close || (head.expect_continue && body.is_some());
            out.push(Seg::Exchange(Exchange::Answered {
                response: error_response(code, &head, close),
                close,
                hold: decision.hold,
            }));
            out.push(Seg::Discard(bytes.len()));
            self.state = match (close, body) {
                (true, _) => {
                    out.push(Seg::Linger);
                    ReqState::Linger
                }
                (false, Some(body)) => ReqState::Body {
                    body,
                    forward: false,
                },
                (false, None) => ReqState::Head,
            };
        } else {
            out.push(Seg::Exchange(Exchange::Forwarded {
                head_request: head.method.eq_ignore_ascii_case("HEAD"),
                truncate: decision.truncate,
            }));
            if let Some(hold) = decision.hold {
                out.push(Seg::Hold(hold));
            }
            out.push(Seg::Bytes(bytes));
            self.state = match body {
                Some(body) => ReqState::Body {
                    body,
                    forward: true,
                },
                None => ReqState::Head,
            };
        }
    }
}

/// The request a response answers, as far as framing and truncation go.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    head_request: bool,
    truncate: Option<f64>,
}

#[derive(Debug)]
enum RespState {
    Head,
    Body(Body),
    Truncating(u64),
    Passthrough,
    Dead,
}

/// Frames the upstream → client flow: parses each response head, counts its body, puts the
/// proxy's own answers in their place in the order of requests, and truncates.
#[derive(Debug)]
pub(crate) struct ResponseFramer {
    state: RespState,
    head: BytesMut,
    /// The request whose response is being read.
    current: Option<Pending>,
}

impl ResponseFramer {
    /// A framer at the start of a connection.
    pub(crate) fn new() -> Self {
        ResponseFramer {
            state: RespState::Head,
            head: BytesMut::new(),
            current: None,
        }
    }

    /// Bytes of a head still being collected (forwarded as they are when the server ends).
    pub(crate) fn take_partial(&mut self) -> Option<Bytes> {
        (!self.head.is_empty()).then(|| self.head.split().freeze())
    }

    /// Frame `input` (possibly empty, to deliver answers queued in `exchanges`), appending what
    /// to do to `out`.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        exchanges: &mut VecDeque<Exchange>,
        out: &mut Vec<Seg>,
    ) {
        let mut pos = 0;
        loop {
            if matches!(self.state, RespState::Head)
                && self.head.is_empty()
                && self.current.is_none()
            {
                self.deliver_answers(exchanges, out);
            }
            if pos >= input.len() {
                return;
            }
            match &mut self.state {
                RespState::Dead => {
                    out.push(Seg::Discard(input.len() - pos));
                    pos = input.len();
                }
                RespState::Passthrough => {
                    out.push(Seg::Input(pos..input.len()));
                    pos = input.len();
                }
                RespState::Truncating(left) => {
                    let take = (*left).min((input.len() - pos) as u64) as usize;
                    out.push(Seg::Input(pos..pos + take));
                    pos += take;
                    *left -= take as u64;
                    if *left == 0 {
                        out.push(Seg::Close { whole: true });
                        self.state = RespState::Dead;
                    }
                }
                RespState::Body(body) => match body.advance(&input[pos..]) {
                    Ok((used, done)) => {
                        if used > 0 {
                            out.push(Seg::Input(pos..pos + used));
                        }
                        pos += used;
                        if done {
                            self.state = RespState::Head;
                            self.current = None;
                        }
                    }
                    Err(_) => self.unframe(out),
                },
                RespState::Head => {
                    if self.head.is_empty() && self.current.is_none() {
                        self.current = Some(match exchanges.pop_front() {
                            Some(Exchange::Forwarded {
                                head_request,
                                truncate,
                            }) => Pending {
                                head_request,
                                truncate,
                            },
                            // Bytes nobody asked for (say a 408 before closing): frame them as
                            // an answer to a plain request, and keep what was queued.
                            Some(other) => {
                                exchanges.push_front(other);
                                Pending::default()
                            }
                            None => Pending::default(),
                        });
                    }
                    match collect(&mut self.head, input, pos) {
                        Collect::More => pos = input.len(),
                        Collect::TooLarge(bytes) => {
                            out.push(Seg::Bytes(bytes));
                            self.unframe(out);
                            pos = input.len();
                        }
                        Collect::Head(bytes, rest) => {
                            pos = rest;
                            self.start(bytes, out);
                        }
                    }
                }
            }
        }
    }

    /// At a message boundary: write the proxy's answers that are next in line.
    fn deliver_answers(&mut self, exchanges: &mut VecDeque<Exchange>, out: &mut Vec<Seg>) {
        loop {
            match exchanges.front() {
                Some(Exchange::Answered { .. }) => {
                    let Some(Exchange::Answered {
                        response,
                        close,
                        hold,
                    }) = exchanges.pop_front()
                    else {
                        return;
                    };
                    if let Some(hold) = hold {
                        out.push(Seg::Hold(hold));
                    }
                    out.push(Seg::Injected(response));
                    if close {
                        out.push(Seg::Close { whole: false });
                        self.state = RespState::Dead;
                        return;
                    }
                }
                Some(Exchange::Unframed) => {
                    exchanges.pop_front();
                    self.state = RespState::Passthrough;
                    return;
                }
                _ => return,
            }
        }
    }

    fn unframe(&mut self, out: &mut Vec<Seg>) {
        out.push(Seg::Unframed);
        self.state = RespState::Passthrough;
    }

    fn start(&mut self, bytes: Bytes, out: &mut Vec<Seg>) {
        let Ok(head) = parse_response(&bytes) else {
            out.push(Seg::Bytes(bytes));
            self.unframe(out);
            return;
        };
        let pending = self.current.unwrap_or_default();
        out.push(Seg::Bytes(bytes));
        if (100..200).contains(&head.status) {
            if head.status == 101 {
                self.unframe(out);
            }
            // An interim response: the final one for the same request follows.
            return;
        }
        let body = if pending.head_request || head.status == 204 || head.status == 304 {
            None
        } else if head.chunked {
            Some(Body::Chunked(Chunked::new()))
        } else if let Some(n) = head.content_length {
            (n > 0).then_some(Body::Length(n))
        } else {
            // Delimited by the end of the connection.
            self.unframe(out);
            return;
        };
        match (pending.truncate, body) {
            (Some(keep), Some(Body::Length(n))) if (200..300).contains(&head.status) => {
                out.push(Seg::Truncated);
                let keep = ((n as f64 * keep) as u64).min(n - 1);
                if keep == 0 {
                    out.push(Seg::Close { whole: true });
                    self.state = RespState::Dead;
                } else {
                    self.state = RespState::Truncating(keep);
                }
            }
            (_, Some(body)) => self.state = RespState::Body(body),
            (_, None) => {
                self.state = RespState::Head;
                self.current = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::proxy::toxic::S3ErrorCode;

    fn forwarded(input: &[u8], segs: &[Seg]) -> Vec<u8> {
        let mut out = Vec::new();
        for seg in segs {
            match seg {
                Seg::Input(r) => out.extend_from_slice(&input[r.clone()]),
                Seg::Bytes(b) | Seg::Injected(b) => out.extend_from_slice(b),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn chunked_bodies_are_framed_across_any_split() {
        let body = b"5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";
        for split in 0..body.len() {
            let mut c = Chunked::new();
            let (a, done_a) = c.advance(&body[..split]).expect("valid");
            assert_eq!(a, split);
            assert!(!done_a);
            let mut tail = body[split..].to_vec();
            tail.extend_from_slice(b"NEXT");
            let (b, done_b) = c.advance(&tail).expect("valid");
            assert!(done_b);
            assert_eq!(split + b, body.len());
        }
        assert!(Chunked::new().advance(b"zz\r\n").is_err());
        assert!(Chunked::new().advance(b"\r\n").is_err());
        assert!(Chunked::new().advance(b"1\r\nab").is_err());
        assert!(Chunked::new().advance(b"ffffffffffffffffff\r\n").is_err());
    }

    #[test]
    fn requests_pass_untouched_when_nothing_is_decided() {
        let input = b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b/k HTTP/1.1\r\n\r\n";
        let mut f = RequestFramer::new();
        let mut segs = Vec::new();
        for byte in input.chunks(1) {
            let mut part = Vec::new();
            f.feed(byte, &mut |_| Decision::default(), &mut part);
            let fwd = forwarded(byte, &part);
            segs.push(fwd);
        }
        assert_eq!(segs.concat(), input.to_vec());
    }

    #[test]
    fn an_answered_request_has_its_body_skipped_and_the_next_request_forwarded() {
        let input =
            b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b/j HTTP/1.1\r\nHost: h\r\n\r\n";
        let mut f = RequestFramer::new();
        let mut segs = Vec::new();
        let mut first = true;
        f.feed(
            input,
            &mut |_| {
                let d = Decision {
                    answer: first.then_some(S3ErrorCode::SlowDown),
                    ..Decision::default()
                };
                first = false;
                d
            },
            &mut segs,
        );
        assert_eq!(
            forwarded(input, &segs),
            b"GET /b/j HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()
        );
        assert!(matches!(
            &segs[0],
            Seg::Exchange(Exchange::Answered { close: false, .. })
        ));
        let discarded: usize = segs
            .iter()
            .map(|s| if let Seg::Discard(n) = s { *n } else { 0 })
            .sum();
        assert_eq!(
            discarded,
            input.len() - b"GET /b/j HTTP/1.1\r\nHost: h\r\n\r\n".len()
        );
    }

    #[test]
    fn an_answer_to_expect_continue_closes() {
        let input = b"PUT /b/k HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        let mut f = RequestFramer::new();
        let mut segs = Vec::new();
        f.feed(
            input,
            &mut |_| Decision {
                answer: Some(S3ErrorCode::InternalError),
                ..Decision::default()
            },
            &mut segs,
        );
        assert!(matches!(
            &segs[0],
            Seg::Exchange(Exchange::Answered { close: true, .. })
        ));
        assert!(segs.contains(&Seg::Linger));
        segs.clear();
        f.feed(
            b"abcGET / HTTP/1.1\r\n\r\n",
            &mut |_| Decision::default(),
            &mut segs,
        );
        assert_eq!(segs, vec![Seg::Discard(21)]);
    }

    #[test]
    fn responses_interleave_answers_in_request_order() {
        let mut q = VecDeque::new();
        q.push_back(Exchange::Forwarded {
            head_request: false,
            truncate: None,
        });
        q.push_back(Exchange::Answered {
            response: Bytes::from_static(b"ANSWER"),
            close: false,
            hold: None,
        });
        q.push_back(Exchange::Forwarded {
            head_request: true,
            truncate: None,
        });
        let mut f = ResponseFramer::new();
        let mut segs = Vec::new();
        let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        f.feed(input, &mut q, &mut segs);
        let text = forwarded(input, &segs);
        assert_eq!(
            text,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokANSWERHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n".to_vec()
        );
        assert!(q.is_empty());
        // The HEAD response had no body: the framer is at a boundary again.
        q.push_back(Exchange::Answered {
            response: Bytes::from_static(b"LATE"),
            close: true,
            hold: None,
        });
        segs.clear();
        f.feed(b"", &mut q, &mut segs);
        assert_eq!(
            segs,
            vec![
                Seg::Injected(Bytes::from_static(b"LATE")),
                Seg::Close { whole: false }
            ]
        );
    }

    #[test]
    fn truncation_keeps_the_head_and_part_of_the_body() {
        let mut q = VecDeque::new();
        q.push_back(Exchange::Forwarded {
            head_request: false,
            truncate: Some(0.5),
        });
        let mut f = ResponseFramer::new();
        let mut segs = Vec::new();
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
        f.feed(input, &mut q, &mut segs);
        assert_eq!(
            forwarded(input, &segs),
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234".to_vec()
        );
        assert!(segs.contains(&Seg::Close { whole: true }));
        assert_eq!(segs.last(), Some(&Seg::Discard(5)));
    }

    #[test]
    fn garbage_is_forwarded_untouched() {
        let mut f = RequestFramer::new();
        let mut segs = Vec::new();
        let input = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\nmore";
        f.feed(input, &mut |_| Decision::default(), &mut segs);
        assert_eq!(forwarded(input, &segs), input.to_vec());
        let mut f = ResponseFramer::new();
        let mut segs = Vec::new();
        f.feed(input, &mut VecDeque::new(), &mut segs);
        assert_eq!(forwarded(input, &segs), input.to_vec());
    }

    /// A small deterministic generator for the property test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Random messages: valid requests and responses with every kind of body, and garbage.
    fn stream(rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..rng.below(6) {
            let body: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            match rng.below(8) {
                0 => out.extend_from_slice(b"GET /b/k?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
                1 => {
                    out.extend_from_slice(
                        format!(
                            "PUT /b/k HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                2 => {
                    out.extend_from_slice(
                        b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                    );
                    for piece in body.chunks(37) {
                        out.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
                        out.extend_from_slice(piece);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n\r\n");
                }
                3 => {
                    out.extend_from_slice(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                            .as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                4 => out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n"),
                5 => out.extend_from_slice(b"\r\n"),
                6 => out.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n"),
                _ => out.extend_from_slice(&body),
            }
        }
        out
    }

    #[test]
    fn with_no_fault_decided_any_input_is_forwarded_exactly() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..3000 {
            let input = stream(&mut rng);
            let mut cuts: Vec<usize> = (0..rng.below(5))
                .map(|_| rng.below(input.len() as u64 + 1) as usize)
                .collect();
            cuts.push(0);
            cuts.push(input.len());
            cuts.sort_unstable();
            let mut request = RequestFramer::new();
            let mut response = ResponseFramer::new();
            let mut queue = VecDeque::new();
            let (mut via_request, mut via_response) = (Vec::new(), Vec::new());
            for pair in cuts.windows(2) {
                let part = &input[pair[0]..pair[1]];
                let mut segs = Vec::new();
                request.feed(part, &mut |_| Decision::default(), &mut segs);
                via_request.extend(forwarded(part, &segs));
                let mut segs = Vec::new();
                response.feed(part, &mut queue, &mut segs);
                via_response.extend(forwarded(part, &segs));
            }
            via_request.extend(request.take_partial().unwrap_or_default());
            via_response.extend(response.take_partial().unwrap_or_default());
            assert_eq!(via_request, input, "request side");
            assert_eq!(via_response, input, "response side");
        }
    }
}
