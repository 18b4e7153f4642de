//! A minimal Hive Metastore Thrift client (binary protocol).
//!
//! The metastore speaks Thrift's binary protocol over a plain, unframed socket (`TSocket`),
//! unless SASL or framing is configured, which the local platform never does. This client
//! knows just enough of that protocol to make the read-only calls the harness needs as a
//! readiness probe and as an independent witness of what a metastore holds:
//! `get_all_databases` and `get_all_tables`. Each call opens its own connection, sends one
//! strict-binary `CALL` message and decodes the reply: the `success` list, the declared
//! `MetaException` (field 1), or a `TApplicationException` (e.g. unknown method). Unknown
//! fields are skipped, so replies from both metastore versions decode alike.
//!
//! Encoding and decoding are pure functions over bytes ([`encode_call`], [`decode_reply`]);
//! only [`call_string_list`] touches the network.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Strict binary protocol version marker (high 16 bits of the first word).
const VERSION_1: u32 = 0x8001_0000;
/// Mask of the version bits.
const VERSION_MASK: u32 = 0xffff_0000;

/// Message types.
const CALL: u8 = 1;
const REPLY: u8 = 2;
const EXCEPTION: u8 = 3;

/// Field types.
const T_STOP: u8 = 0;
const T_BOOL: u8 = 2;
const T_BYTE: u8 = 3;
const T_DOUBLE: u8 = 4;
const T_I16: u8 = 6;
const T_I32: u8 = 8;
const T_I64: u8 = 10;
const T_STRING: u8 = 11;
const T_STRUCT: u8 = 12;
const T_MAP: u8 = 13;
const T_SET: u8 = 14;
const T_LIST: u8 = 15;
const T_UUID: u8 = 16;

/// Replies larger than this are refused rather than buffered.
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// Nesting deeper than this in a reply is refused (only reachable with a hostile server).
const MAX_DEPTH: usize = 64;

/// The sequence id of every call (one call per connection).
const SEQID: i32 = 1;

/// Errors from a metastore call.
#[derive(Debug, thiserror::Error)]
pub enum ThriftError {
    /// The TCP connection could not be made.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// The metastore address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Sending or receiving failed after connecting.
    #[error("call {method} on {addr}: {source}")]
    Io {
        /// The Thrift method.
        method: String,
        /// The metastore address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The whole call (connect, send, receive) took longer than allowed.
    #[error("call {method} on {addr} within {}", humantime_ms(*.after))]
    Timeout {
        /// The Thrift method.
        method: String,
        /// The metastore address.
        addr: SocketAddr,
        /// The time allowed.
        after: Duration,
    },
    /// The server closed the connection before a complete reply.
    #[error("read the reply to {method} from {addr}: connection closed after {received} bytes")]
    Closed {
        /// The Thrift method.
        method: String,
        /// The metastore address.
        addr: SocketAddr,
        /// How many bytes had arrived.
        received: usize,
    },
    /// The reply is not valid Thrift binary protocol, or not a reply to this call.
    #[error("decode the reply to {method}: {detail}")]
    Protocol {
        /// The Thrift method.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// The server answered with a `TApplicationException`.
    #[error("call {method}: the server raised TApplicationException ({}): {message}", application_kind(*.kind))]
    Application {
        /// The Thrift method.
        method: String,
        /// The exception type code.
        kind: i32,
        /// The exception message.
        message: String,
    },
    /// The metastore raised the method's declared `MetaException`.
    #[error("call {method}: MetaException: {message}")]
    Meta {
        /// The Thrift method.
        method: String,
        /// The exception message.
        message: String,
    },
}

fn humantime_ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The name of a `TApplicationException` type code.
pub fn application_kind(kind: i32) -> &'static str {
    match kind {
        1 => "unknown method",
        2 => "invalid message type",
        3 => "wrong method name",
        4 => "bad sequence id",
        5 => "missing result",
        6 => "internal error",
        7 => "protocol error",
        8 => "invalid transform",
        9 => "invalid protocol",
        10 => "unsupported client type",
        _ => "unknown",
    }
}

/// Lists every database of the default catalog (`get_all_databases`).
pub async fn get_all_databases(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Vec<String>, ThriftError> {
    call_string_list(addr, "get_all_databases", &[], timeout).await
}

/// Lists every table of database `db` (`get_all_tables`).
pub async fn get_all_tables(
    addr: SocketAddr,
    db: &str,
    timeout: Duration,
) -> Result<Vec<String>, ThriftError> {
    call_string_list(addr, "get_all_tables", &[(1, db)], timeout).await
}

/// Calls `method` with string arguments `(field id, value)` and returns its `list<string>`
/// result, all within `timeout` (connecting included).
pub async fn call_string_list(
    addr: SocketAddr,
    method: &str,
    args: &[(i16, &str)],
    timeout: Duration,
) -> Result<Vec<String>, ThriftError> {
    let request = encode_call(method, SEQID, args);
    let call = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ThriftError::Connect { addr, source })?;
        let io = |source| ThriftError::Io {
            method: method.to_string(),
            addr,
            source,
        };
        // Best effort: a request this small goes out in one segment either way.
        let _ = stream.set_nodelay(true);
        stream.write_all(&request).await.map_err(io)?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut chunk).await.map_err(io)?;
            if n == 0 {
                return Err(ThriftError::Closed {
                    method: method.to_string(),
                    addr,
                    received: buf.len(),
                });
            }
            buf.extend_from_slice(&chunk[..n]);
            match decode_reply(&buf, method, SEQID) {
                Ok(reply) => return reply.into_result(method),
                Err(Decode::Incomplete) if buf.len() <= MAX_REPLY_BYTES => continue,
                Err(Decode::Incomplete) => {
                    return Err(ThriftError::Protocol {
                        method: method.to_string(),
                        detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
                    })
                }
                Err(Decode::Invalid(detail)) => {
                    return Err(ThriftError::Protocol {
                        method: method.to_string(),
                        detail,
                    })
                }
            }
        }
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(ThriftError::Timeout {
            method: method.to_string(),
            addr,
            after: timeout,
        }),
    }
}

/// A strict-binary `CALL` message whose argument struct holds the given string fields.
pub fn encode_call(method: &str, seqid: i32, string_args: &[(i16, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + method.len());
    out.extend_from_slice(&(VERSION_1 | u32::from(CALL)).to_be_bytes());
    put_string(&mut out, method);
    out.extend_from_slice(&seqid.to_be_bytes());
    for (id, value) in string_args {
        out.push(T_STRING);
        out.extend_from_slice(&id.to_be_bytes());
        put_string(&mut out, value);
    }
    out.push(T_STOP);
    out
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    // Thrift strings are i32-length-prefixed; anything this client sends is tiny.
    let len = i32::try_from(s.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A decoded reply to a call returning `list<string>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The `success` field.
    Success(Vec<String>),
    /// The declared `MetaException` (result field 1), with its message.
    MetaException(String),
    /// A `TApplicationException` message: (type code, message).
    Application(i32, String),
    /// A result struct with neither success nor a known exception field.
    Empty,
}

impl Reply {
    fn into_result(self, method: &str) -> Result<Vec<String>, ThriftError> {
        match self {
            Reply::Success(list) => Ok(list),
            Reply::MetaException(message) => Err(ThriftError::Meta {
                method: method.to_string(),
                message,
            }),
            Reply::Application(kind, message) => Err(ThriftError::Application {
                method: method.to_string(),
                kind,
                message,
            }),
            Reply::Empty => Err(ThriftError::Protocol {
                method: method.to_string(),
                detail: "result struct without success or exception (missing result)".into(),
            }),
        }
    }
}

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decode {
    /// More bytes are needed.
    Incomplete,
    /// The bytes are not a valid reply.
    Invalid(String),
}

/// Decodes one reply message to `method` with sequence id `seqid` from the start of `buf`.
/// Accepts strict and old non-strict message headers.
pub fn decode_reply(buf: &[u8], method: &str, seqid: i32) -> Result<Reply, Decode> {
    let mut r = Reader { buf, pos: 0 };
    let first = r.i32()?;
    let (name, kind, got_seqid) = if first < 0 {
        let word = first as u32;
        if word & VERSION_MASK != VERSION_1 {
            return Err(Decode::Invalid(format!(
                "bad protocol version word {word:#010x}"
            )));
        }
        let kind = (word & 0xff) as u8;
        let name = r.string()?;
        (name, kind, r.i32()?)
    } else {
        // Non-strict: the first word is the name's length.
        let name = r.bytes(len_of(first)?)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let kind = r.u8()?;
        (name, kind, r.i32()?)
    };
    match kind {
        REPLY | EXCEPTION => {}
        other => {
            return Err(Decode::Invalid(format!(
                "message type {other}, expected a reply"
            )))
        }
    }
    if name != method {
        return Err(Decode::Invalid(format!("reply names method `{name}`")));
    }
    if got_seqid != seqid {
        return Err(Decode::Invalid(format!(
            "sequence id {got_seqid}, expected {seqid}"
        )));
    }
    if kind == EXCEPTION {
        let (message, code) = r.application_exception()?;
        return Ok(Reply::Application(code, message));
    }
    let mut reply = Reply::Empty;
    loop {
        let ttype = r.u8()?;
        if ttype == T_STOP {
            break;
        }
        let id = r.i16()?;
        match (id, ttype) {
            (0, T_LIST) => reply = Reply::Success(r.string_list()?),
            (1, T_STRUCT) => reply = Reply::MetaException(r.exception_message()?),
            _ => r.skip(ttype, 0)?,
        }
    }
    Ok(reply)
}

fn len_of(n: i32) -> Result<usize, Decode> {
    usize::try_from(n).map_err(|_| Decode::Invalid(format!("negative length {n}")))
}

/// A cursor over a reply's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Decode> {
        if n > MAX_REPLY_BYTES {
            return Err(Decode::Invalid(format!(
                "length {n} exceeds {MAX_REPLY_BYTES}"
            )));
        }
        let end = self.pos.checked_add(n).ok_or(Decode::Incomplete)?;
        let s = self.buf.get(self.pos..end).ok_or(Decode::Incomplete)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Decode> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Decode> {
        Ok(self.array::<1>()?[0])
    }

    fn i16(&mut self) -> Result<i16, Decode> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, Decode> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, Decode> {
        let n = len_of(self.i32()?)?;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| Decode::Invalid("string is not UTF-8".into()))
    }

    fn string_list(&mut self) -> Result<Vec<String>, Decode> {
        let etype = self.u8()?;
        let n = len_of(self.i32()?)?;
        if n > 0 && etype != T_STRING {
            return Err(Decode::Invalid(format!(
                "list of element type {etype}, expected strings"
            )));
        }
        // Each string takes at least its 4-byte length; don't trust `n` for the allocation.
        let mut out = Vec::with_capacity(n.min((self.buf.len() - self.pos) / 4));
        for _ in 0..n {
            out.push(self.string()?);
        }
        Ok(out)
    }

    /// A struct whose field 1 is a string message (`MetaException` and friends).
    fn exception_message(&mut self) -> Result<String, Decode> {
        let mut message = String::new();
        loop {
            let ttype = self.u8()?;
            if ttype == T_STOP {
                return Ok(message);
            }
            let id = self.i16()?;
            if id == 1 && ttype == T_STRING {
                message = self.string()?;
            } else {
                self.skip(ttype, 1)?;
            }
        }
    }

    /// `TApplicationException { 1: string message, 2: i32 type }`.
    fn application_exception(&mut self) -> Result<(String, i32), Decode> {
        let mut message = String::new();
        let mut code = 0;
        loop {
            let ttype = self.u8()?;
            if ttype == T_STOP {
                return Ok((message, code));
            }
            match (self.i16()?, ttype) {
                (1, T_STRING) => message = self.string()?,
                (2, T_I32) => code = self.i32()?,
                _ => self.skip(ttype, 1)?,
            }
        }
    }

    fn skip(&mut self, ttype: u8, depth: usize) -> Result<(), Decode> {
        if depth > MAX_DEPTH {
            return Err(Decode::Invalid(format!("nesting deeper than {MAX_DEPTH}")));
        }
        match ttype {
            T_BOOL | T_BYTE => self.bytes(1).map(drop),
            T_I16 => self.bytes(2).map(drop),
            T_I32 => self.bytes(4).map(drop),
            T_DOUBLE | T_I64 => self.bytes(8).map(drop),
            T_UUID => self.bytes(16).map(drop),
            T_STRING => {
                let n = len_of(self.i32()?)?;
                self.bytes(n).map(drop)
            }
            T_STRUCT => loop {
                let t = self.u8()?;
                if t == T_STOP {
                    return Ok(());
                }
                self.i16()?;
                self.skip(t, depth + 1)?;
            },
            T_MAP => {
                let k = self.u8()?;
                let v = self.u8()?;
                let n = len_of(self.i32()?)?;
                for _ in 0..n {
                    self.skip(k, depth + 1)?;
                    self.skip(v, depth + 1)?;
                }
                Ok(())
            }
            T_SET | T_LIST => {
                let e = self.u8()?;
                let n = len_of(self.i32()?)?;
                for _ in 0..n {
                    self.skip(e, depth + 1)?;
                }
                Ok(())
            }
            other => Err(Decode::Invalid(format!("unknown field type {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strict reply header for `method`, message type `kind`, sequence id 1.
    fn header(method: &str, kind: u8) -> Vec<u8> {
        let mut b = vec![0x80, 0x01, 0x00, kind];
        b.extend_from_slice(&(method.len() as i32).to_be_bytes());
        b.extend_from_slice(method.as_bytes());
        b.extend_from_slice(&[0, 0, 0, 1]);
        b
    }

    #[test]
    fn encodes_argumentless_call() {
        let bytes = encode_call("get_all_databases", 1, &[]);
        let mut expected = vec![0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x11];
        expected.extend_from_slice(b"get_all_databases");
        expected.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, 0x00]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn encodes_string_argument() {
        let bytes = encode_call("get_all_tables", 7, &[(1, "db")]);
        let mut expected = vec![0x80, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e];
        expected.extend_from_slice(b"get_all_tables");
        expected.extend_from_slice(&[0x00, 0x00, 0x00, 0x07]);
        expected.extend_from_slice(&[0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, b'd', b'b']);
        expected.push(0x00);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn decodes_success_list() {
        let mut b = header("get_all_databases", REPLY);
        // field 0: list<string> ["default", "tpcds"]
        b.extend_from_slice(&[0x0f, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x02]);
        b.extend_from_slice(&[0, 0, 0, 7]);
        b.extend_from_slice(b"default");
        b.extend_from_slice(&[0, 0, 0, 5]);
        b.extend_from_slice(b"tpcds");
        b.push(0x00);
        assert_eq!(
            decode_reply(&b, "get_all_databases", 1),
            Ok(Reply::Success(vec!["default".into(), "tpcds".into()]))
        );
        // Every proper prefix is incomplete, never invalid.
        for cut in 0..b.len() {
            assert_eq!(
                decode_reply(&b[..cut], "get_all_databases", 1),
                Err(Decode::Incomplete),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn decodes_empty_list_of_any_element_type() {
        let mut b = header("get_all_tables", REPLY);
        b.extend_from_slice(&[0x0f, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(
            decode_reply(&b, "get_all_tables", 1),
            Ok(Reply::Success(vec![]))
        );
    }

    #[test]
    fn decodes_meta_exception() {
        let mut b = header("get_all_tables", REPLY);
        // field 1: struct MetaException { 1: string message }
        b.extend_from_slice(&[0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04]);
        b.extend_from_slice(b"boom");
        b.extend_from_slice(&[0x00, 0x00]);
        assert_eq!(
            decode_reply(&b, "get_all_tables", 1),
            Ok(Reply::MetaException("boom".into()))
        );
        let err = Reply::MetaException("boom".into())
            .into_result("get_all_tables")
            .unwrap_err();
        assert_eq!(err.to_string(), "call get_all_tables: MetaException: boom");
    }

    #[test]
    fn decodes_application_exception() {
        let mut b = header("get_all_databases", EXCEPTION);
        b.extend_from_slice(&[0x0b, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03]);
        b.extend_from_slice(b"bad");
        b.extend_from_slice(&[0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00]);
        let reply = decode_reply(&b, "get_all_databases", 1).unwrap();
        assert_eq!(reply, Reply::Application(1, "bad".into()));
        assert_eq!(
            reply
                .into_result("get_all_databases")
                .unwrap_err()
                .to_string(),
            "call get_all_databases: the server raised TApplicationException (unknown method): bad"
        );
    }

    #[test]
    fn skips_unknown_fields() {
        let mut b = header("get_all_databases", REPLY);
        // field 5: i64, field 6: map<string,i32>{"a":1}, field 7: struct{1: bool}, then success.
        b.extend_from_slice(&[0x0a, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 9]);
        b.extend_from_slice(&[
            0x0d, 0x00, 0x06, 0x0b, 0x08, 0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 1,
        ]);
        b.extend_from_slice(&[0x0c, 0x00, 0x07, 0x02, 0x00, 0x01, 0x01, 0x00]);
        b.extend_from_slice(&[0x0f, 0x00, 0x00, 0x0b, 0, 0, 0, 1, 0, 0, 0, 1, b'x', 0x00]);
        assert_eq!(
            decode_reply(&b, "get_all_databases", 1),
            Ok(Reply::Success(vec!["x".into()]))
        );
    }

    #[test]
    fn decodes_non_strict_header() {
        let mut b = vec![0, 0, 0, 17];
        b.extend_from_slice(b"get_all_databases");
        b.push(REPLY);
        b.extend_from_slice(&[0, 0, 0, 1]);
        b.extend_from_slice(&[0x0f, 0x00, 0x00, 0x0b, 0, 0, 0, 0, 0x00]);
        assert_eq!(
            decode_reply(&b, "get_all_databases", 1),
            Ok(Reply::Success(vec![]))
        );
    }

    #[test]
    fn rejects_mismatched_or_malformed_replies() {
        let b = header("get_all_tables", REPLY);
        assert!(matches!(
            decode_reply(&b, "get_all_databases", 1),
            Err(Decode::Invalid(_))
        ));
        assert!(matches!(
            decode_reply(&b, "get_all_tables", 2),
            Err(Decode::Invalid(_))
        ));
        let call = encode_call("get_all_tables", 1, &[]);
        assert!(matches!(
            decode_reply(&call, "get_all_tables", 1),
            Err(Decode::Invalid(_))
        ));
        assert!(matches!(
            decode_reply(&[0x80, 0x02, 0, 2], "x", 1),
            Err(Decode::Invalid(_))
        ));
        let mut bad_type = header("m", REPLY);
        bad_type.extend_from_slice(&[0x63, 0x00, 0x01]);
        assert!(matches!(
            decode_reply(&bad_type, "m", 1),
            Err(Decode::Invalid(_))
        ));
        let mut huge = header("m", REPLY);
        huge.extend_from_slice(&[0x0b, 0x00, 0x03, 0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decode_reply(&huge, "m", 1),
            Err(Decode::Invalid(_))
        ));
    }

    #[test]
    fn empty_result_is_an_error() {
        let mut b = header("m", REPLY);
        b.push(0x00);
        let reply = decode_reply(&b, "m", 1).unwrap();
        assert_eq!(reply, Reply::Empty);
        assert!(matches!(
            reply.into_result("m"),
            Err(ThriftError::Protocol { .. })
        ));
    }

    #[tokio::test]
    async fn talks_to_a_fake_server_and_times_out_on_a_silent_one() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; encode_call("get_all_tables", 1, &[(1, "tpcds")]).len()];
            s.read_exact(&mut req).await.unwrap();
            assert_eq!(req, encode_call("get_all_tables", 1, &[(1, "tpcds")]));
            let mut b = header("get_all_tables", REPLY);
            b.extend_from_slice(&[
                0x0f, 0x00, 0x00, 0x0b, 0, 0, 0, 1, 0, 0, 0, 2, b'c', b'1', 0x00,
            ]);
            // Dribble the reply out in two pieces to exercise reassembly.
            s.write_all(&b[..5]).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(&b[5..]).await.unwrap();
            // A second connection that never answers.
            let (_silent, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let tables = get_all_tables(addr, "tpcds", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(tables, vec!["c1".to_string()]);
        let err = get_all_databases(addr, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, ThriftError::Timeout { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("call get_all_databases on {addr} within 200ms")
        );
        server.abort();
    }

    #[tokio::test]
    async fn connection_refused_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = get_all_databases(addr, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, ThriftError::Connect { .. }), "{err}");
    }

    /// Against real metastores: set `CHAOS_HMS_ADDRS` to `127.0.0.1:PORT[,...]` of running
    /// Hive Metastores (the local platform's `env up` starts them) and run with `--ignored`.
    /// Ignored by default because it needs those servers.
    #[tokio::test]
    #[ignore = "needs running Hive Metastores; set CHAOS_HMS_ADDRS"]
    async fn lists_default_database_of_real_metastores() {
        let addrs = std::env::var("CHAOS_HMS_ADDRS").expect("CHAOS_HMS_ADDRS");
        for addr in addrs.split(',') {
            let addr: SocketAddr = addr.trim().parse().expect("address");
            let dbs = get_all_databases(addr, Duration::from_secs(10))
                .await
                .expect("get_all_databases");
            assert!(dbs.iter().any(|d| d == "default"), "{addr}: {dbs:?}");
            let tables = get_all_tables(addr, "default", Duration::from_secs(10))
                .await
                .expect("get_all_tables");
            println!("{addr}: databases {dbs:?}, tables in default {tables:?}");
            let err = get_all_tables(addr, "no_such_db_for_chaos", Duration::from_secs(10)).await;
            println!("{addr}: get_all_tables(no_such_db_for_chaos) -> {err:?}");
        }
    }
}
