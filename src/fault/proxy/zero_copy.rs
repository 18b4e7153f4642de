//! Zero-copy forwarding for the fast path: on Linux, bytes move from the source socket into a
//! pipe and from the pipe to the destination socket with `splice(2)`, never through user space.
//!
//! Each pump that may forward without framing owns one [`Pipe`]. It is filled only when empty
//! and then drained completely, so a `splice` that would block is never ambiguous: filling an
//! empty pipe blocks only on the source socket, draining a non-empty one only on the
//! destination. Both calls are non-blocking (`SPLICE_F_NONBLOCK`, and tokio's sockets are
//! `O_NONBLOCK`) and run inside [`TcpStream::try_io`], so tokio's readiness stays exact. Every
//! call's result is recorded in [`Pipe::len`] before the future returns, so the futures are
//! cancel-safe: when the pump stops waiting, the pipe still says how many bytes it holds, and
//! [`Pipe::take`] hands them to the toxic path in order.
//!
//! Elsewhere (and when a pipe cannot be created) [`Pipe::new`] returns `None` and the pump
//! copies through its buffer as before.

use std::io;

use bytes::Bytes;
use tokio::net::TcpStream;

/// The pipe size asked for (the kernel may round it, or refuse and keep its 64 KiB default).
#[cfg(target_os = "linux")]
const PIPE_SIZE: usize = 1024 * 1024;

/// A pipe between two sockets.
#[cfg(target_os = "linux")]
pub(crate) struct Pipe {
    read: std::fs::File,
    write: std::fs::File,
    /// Bytes in the pipe now.
    len: usize,
    /// How many bytes one fill asks for.
    cap: usize,
}

#[cfg(target_os = "linux")]
impl Pipe {
    /// A non-blocking pipe, or `None` when the system will not make one (out of descriptors):
    /// the pump then copies.
    pub(crate) fn new() -> Option<Pipe> {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        use std::os::fd::AsRawFd;

        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).ok()?;
        let size = i32::try_from(PIPE_SIZE).unwrap_or(i32::MAX);
        let cap = fcntl(write.as_raw_fd(), FcntlArg::F_SETPIPE_SZ(size))
            .or_else(|_| fcntl(write.as_raw_fd(), FcntlArg::F_GETPIPE_SZ))
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0)
            .unwrap_or(64 * 1024);
        Some(Pipe {
            read: read.into(),
            write: write.into(),
            len: 0,
            cap,
        })
    }

    /// Bytes in the pipe.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Move what `src` has (at least one byte, waiting for it) into the empty pipe. `Ok(0)` at
    /// the end of the stream.
    pub(crate) async fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        debug_assert_eq!(self.len, 0, "a pipe is filled only when empty");
        loop {
            src.readable().await?;
            match src.try_io(tokio::io::Interest::READABLE, || {
                splice(src, &self.write, self.cap)
            }) {
                Ok(n) => {
                    self.len += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Move some of the pipe's bytes to `dst` (waiting until it takes any).
    pub(crate) async fn drain(&mut self, dst: &TcpStream) -> io::Result<usize> {
        debug_assert!(self.len > 0, "a pipe is drained only when it holds bytes");
        loop {
            dst.writable().await?;
            match dst.try_io(tokio::io::Interest::WRITABLE, || {
                splice(&self.read, dst, self.len)
            }) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.len -= n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Read every byte in the pipe into memory, emptying it (when the flow leaves the fast
    /// path with bytes in flight).
    pub(crate) fn take(&mut self) -> io::Result<Bytes> {
        use std::io::Read;

        let mut data = vec![0u8; self.len];
        let mut off = 0;
        while off < data.len() {
            match (&self.read).read(&mut data[off..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => off += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.len = 0;
        Ok(Bytes::from(data))
    }
}

/// Whether a splice error means splicing cannot work between these descriptors (rather than a
/// failure of the connection): the pump then copies instead.
pub(crate) fn unsupported(error: &io::Error) -> bool {
    use nix::errno::Errno;

    [Errno::EINVAL, Errno::ENOSYS, Errno::EOPNOTSUPP]
        .iter()
        .any(|e| error.raw_os_error() == Some(*e as i32))
}

#[cfg(target_os = "linux")]
fn splice(
    from: impl std::os::fd::AsFd,
    to: impl std::os::fd::AsFd,
    len: usize,
) -> io::Result<usize> {
    use nix::fcntl::SpliceFFlags;

    nix::fcntl::splice(
        from,
        None,
        to,
        None,
        len,
        SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE,
    )
    .map_err(io::Error::from)
}

/// Not Linux: there is no pipe, the pump copies.
#[cfg(not(target_os = "linux"))]
pub(crate) enum Pipe {}

#[cfg(not(target_os = "linux"))]
impl Pipe {
    pub(crate) fn new() -> Option<Pipe> {
        None
    }

    pub(crate) fn len(&self) -> usize {
        match *self {}
    }

    pub(crate) async fn fill(&mut self, _src: &TcpStream) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) async fn drain(&mut self, _dst: &TcpStream) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn take(&mut self) -> io::Result<Bytes> {
        match *self {}
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.expect("connect"), b.expect("accept").0)
    }

    #[tokio::test]
    async fn bytes_leave_the_pipe_in_order_whether_spliced_on_or_taken_out() {
        let (mut writer, src) = pair().await;
        let (dst, mut reader) = pair().await;
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let mut pipe = Pipe::new().expect("pipe");
        let mut got = Vec::new();
        for (i, piece) in data.chunks(50_000).enumerate() {
            writer.write_all(piece).await.expect("write");
            let mut want = piece.len();
            while want > 0 {
                let n = pipe.fill(&src).await.expect("fill");
                assert!(n > 0 && n <= want, "{n} of {want}");
                assert_eq!(pipe.len(), n);
                want -= n;
                if i % 2 == 0 {
                    while pipe.len() > 0 {
                        pipe.drain(&dst).await.expect("drain");
                    }
                    let mut spliced = vec![0u8; n];
                    reader.read_exact(&mut spliced).await.expect("read");
                    got.extend_from_slice(&spliced);
                } else {
                    let taken = pipe.take().expect("take");
                    assert_eq!((taken.len(), pipe.len()), (n, 0));
                    got.extend_from_slice(&taken);
                }
            }
        }
        assert!(got == data, "bytes differ");
        drop(writer);
        assert_eq!(pipe.fill(&src).await.expect("end of stream"), 0);
    }
}
