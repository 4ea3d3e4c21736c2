//! The control socket: a hand-off to a successor started separately (by systemd's
//! `ExecReload=`, a deploy tool, an operator), over a Unix stream socket, with the listening
//! sockets passed as `SCM_RIGHTS`.
//!
//! One connection per hand-off, in four steps (text lines; the fds ride on the offer):
//!
//! 1. The successor connects and asks: `take-over\n`. The server reads its credentials
//!    (`SO_PEERCRED`): a peer of another user than the server's (root excepted) is refused.
//!    A connection that closes without asking (a probe: is a server listening here?) is
//!    dropped without a word.
//! 2. Server → successor: `offer <pid> <name>:<name>…\n` with the listening sockets attached
//!    in the same order, or `refused <reason>\n` (another upgrade is under way, the shutdown
//!    has begun, the peer's user).
//! 3. Successor → server: the readiness byte, once it serves (the one a spawned successor
//!    writes on its readiness channel). A successor that dies closes the connection first.
//! 4. Server → successor: `handed-over\n`, or `failed <reason>\n` (the server serves on; the
//!    successor must stop). The successor learns the outcome, as the one who asked.
//!
//! Linux only: the peer's credentials come from `SO_PEERCRED`.

use std::{
    format,
    io::{self, IoSlice, IoSliceMut, Read, Write},
    os::{
        fd::{AsFd, OwnedFd},
        unix::{
            fs::{FileTypeExt, MetadataExt, PermissionsExt},
            net::{UnixListener, UnixStream},
        },
    },
    path::{Path, PathBuf},
    string::{String, ToString},
    vec::Vec,
};

use core::mem::MaybeUninit;
use rustix::net::{
    recvmsg, sendmsg, sockopt, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};

/// The most listening sockets one hand-off passes (a bound on what a successor accepts).
pub(crate) const MAX_SOCKETS: usize = 64;
/// What a successor asks with (step 1).
const ASK: &[u8] = b"take-over\n";
/// How long the server waits for a connection to ask.
const ASK_BOUND: core::time::Duration = core::time::Duration::from_secs(2);
/// The longest line of the protocol (an offer names up to [`MAX_SOCKETS`] sockets of up to
/// 255 bytes each).
const MAX_LINE: usize = 64 + MAX_SOCKETS * 256;

/// A control socket bound at a path: the server's side.
#[derive(Debug)]
pub(crate) struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file's device and inode: removed at drop only while the path still names it
    /// (a successor that took over has renamed its own socket over the path).
    file: (u64, u64),
}

/// Why [`ControlSocket::bind`] failed.
#[derive(Debug)]
pub(crate) enum BindError {
    /// A live server answers at the path.
    Taken,
    /// Something else than a socket is at the path: left alone.
    NotASocket,
    /// Binding, or setting the mode, failed.
    Io(io::Error),
}

impl core::fmt::Display for BindError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BindError::Taken => f.write_str("another server is listening there"),
            BindError::NotASocket => f.write_str("something else than a socket is there"),
            BindError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl ControlSocket {
    /// Binds a control socket at `path`, mode 0600, atomically: bound at a temporary path
    /// beside it, its mode set, then renamed over `path`, so that the path never names a
    /// socket of another mode, nor nothing while a stale or predecessor's socket was there.
    ///
    /// A live server answering at `path` is [`BindError::Taken`]; a stale socket file
    /// (nobody answers) is replaced.
    pub(crate) fn bind(path: &Path) -> Result<ControlSocket, BindError> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => return Err(BindError::NotASocket),
            Ok(_) if UnixStream::connect(path).is_ok() => return Err(BindError::Taken),
            _ => {}
        }
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = path.with_file_name(name);
        let _ = std::fs::remove_file(&temporary);
        let listener = UnixListener::bind(&temporary).map_err(BindError::Io)?;
        let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::symlink_metadata(&temporary))
            .and_then(|meta| {
                std::fs::rename(&temporary, path)?;
                Ok((meta.dev(), meta.ino()))
            });
        match placed {
            Ok(file) => Ok(ControlSocket {
                listener,
                path: path.to_path_buf(),
                file,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                Err(BindError::Io(e))
            }
        }
    }

    /// Waits for the next hand-off request and reads its peer's credentials: `None` for a
    /// connection that did not ask (a probe, or garbage).
    pub(crate) fn accept(&self) -> io::Result<Option<Request>> {
        let (stream, _) = self.listener.accept()?;
        let peer = Peer::of(&stream)?;
        let mut asked = [0u8; ASK.len()];
        let asked = stream
            .set_read_timeout(Some(ASK_BOUND))
            .and_then(|()| (&stream).read_exact(&mut asked))
            .and_then(|()| stream.set_read_timeout(None))
            .is_ok()
            && asked == ASK;
        Ok(asked.then_some(Request { stream, peer }))
    }

    /// Removes the socket file while it is still this one's (a successor's, renamed over
    /// it, stays): from now on nobody reaches this server at the path. Idempotent.
    pub(crate) fn remove(&self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if (meta.dev(), meta.ino()) == self.file {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Who connected: from `SO_PEERCRED`, as of its `connect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) pid: u32,
    pub(crate) uid: u32,
}

impl Peer {
    fn of(stream: &UnixStream) -> io::Result<Peer> {
        let cred = sockopt::socket_peercred(stream)?;
        Ok(Peer {
            pid: cred.pid.as_raw_nonzero().get().unsigned_abs(),
            uid: cred.uid.as_raw(),
        })
    }

    /// Whether this peer may take the sockets of a server running as `uid`: the same user,
    /// or root.
    pub(crate) fn authorized(&self, uid: u32) -> bool {
        self.uid == uid || self.uid == 0
    }
}

/// One hand-off request, on the server's side.
#[derive(Debug)]
pub(crate) struct Request {
    stream: UnixStream,
    peer: Peer,
}

impl Request {
    /// Who asked.
    pub(crate) fn peer(&self) -> Peer {
        self.peer
    }

    /// Refuses the request, saying why; the connection closes.
    pub(crate) fn refuse(mut self, reason: &str) {
        let _ = self
            .stream
            .write_all(format!("refused {}\n", one_line(reason)).as_bytes());
    }

    /// Offers the listening sockets (this server's pid with them), then returns the
    /// connection, non-blocking, to wait on for the readiness byte.
    pub(crate) fn offer(self, pid: u32, sockets: &[(String, OwnedFd)]) -> io::Result<Offered> {
        if sockets.len() > MAX_SOCKETS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("more than {MAX_SOCKETS} listening sockets"),
            ));
        }
        let names: Vec<&str> = sockets.iter().map(|(name, _)| name.as_str()).collect();
        let line = format!("offer {pid} {}\n", names.join(":"));
        let fds: Vec<_> = sockets.iter().map(|(_, fd)| fd.as_fd()).collect();
        let mut space = std::vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(io::Error::other("the fds do not fit the control message"));
        }
        let bytes = line.as_bytes();
        let sent = sendmsg(
            &self.stream,
            &[IoSlice::new(bytes)],
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        // The fds went with the first byte; the rest of the line, if the buffer was full,
        // follows as plain bytes.
        (&self.stream).write_all(&bytes[sent..])?;
        self.stream.set_nonblocking(true)?;
        Ok(Offered {
            stream: self.stream,
        })
    }
}

/// A request whose sockets were offered: waiting for the successor to say it serves.
#[derive(Debug)]
pub(crate) struct Offered {
    stream: UnixStream,
}

impl Offered {
    /// Reads, without blocking, whether the successor said it serves.
    pub(crate) fn poll_ready(&self) -> io::Result<super::Readiness> {
        super::readiness(&self.stream)
    }

    /// Tells the successor how the hand-off ended: handed over (`Ok`), or failed, saying why
    /// (the successor must then stop). Best effort: a successor gone hears nothing.
    pub(crate) fn conclude(self, outcome: Result<(), &str>) {
        let line = match outcome {
            Ok(()) => String::from("handed-over\n"),
            Err(reason) => format!("failed {}\n", one_line(reason)),
        };
        // The line is short and the successor reads it: a blocking write cannot stall.
        let _ = self.stream.set_nonblocking(false);
        let _ = (&self.stream).write_all(line.as_bytes());
    }
}

/// Why a take-over found nothing to take.
#[derive(Debug)]
pub(crate) enum TakeOverError {
    /// Nothing answers at the path (no file, a stale socket, not a socket).
    Nothing(io::Error),
    /// The server refused, saying why.
    Refused(String),
    /// The server answered something this process does not understand, or the exchange
    /// failed midway.
    Protocol(String),
}

impl core::fmt::Display for TakeOverError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TakeOverError::Nothing(e) => write!(f, "{e}"),
            TakeOverError::Refused(reason) => f.write_str(reason),
            TakeOverError::Protocol(what) => f.write_str(what),
        }
    }
}

/// The successor's side: the sockets offered, and the connection to say "ready" on and to
/// hear the outcome from.
#[derive(Debug)]
pub(crate) struct Taken {
    /// The server's pid, as it said.
    pub(crate) pid: u32,
    /// The listening sockets, by name, close-on-exec.
    pub(crate) sockets: Vec<(String, OwnedFd)>,
    /// The connection to the server.
    pub(crate) stream: UnixStream,
}

/// Connects to the control socket at `path` and receives the server's listening sockets
/// (waiting at most `bound` for the offer).
pub(crate) fn take_over(path: &Path, bound: core::time::Duration) -> Result<Taken, TakeOverError> {
    let mut stream = UnixStream::connect(path).map_err(TakeOverError::Nothing)?;
    stream
        .write_all(ASK)
        .map_err(|e| TakeOverError::Protocol(format!("asking: {e}")))?;
    receive(stream, bound)
}

/// The successor's half of step 2, on a connected `stream`.
fn receive(stream: UnixStream, bound: core::time::Duration) -> Result<Taken, TakeOverError> {
    let protocol = |what: &str| TakeOverError::Protocol(what.to_string());
    let io = |e: io::Error| TakeOverError::Protocol(format!("reading the offer: {e}"));
    stream.set_read_timeout(Some(bound)).map_err(io)?;
    let mut buffer = std::vec![0u8; MAX_LINE];
    let mut space = std::vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_SOCKETS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = recvmsg(
        &stream,
        &mut [IoSliceMut::new(&mut buffer)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| io(e.into()))?;
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(rights) = message {
            fds.extend(rights);
        }
    }
    if received.flags.contains(ReturnFlags::CTRUNC) {
        return Err(protocol("more sockets were offered than a hand-off takes"));
    }
    let mut line = buffer[..received.bytes].to_vec();
    if received.bytes == 0 {
        return Err(protocol(
            "the server closed the connection without an offer",
        ));
    }
    // The rest of the line, if it came in pieces.
    while !line.ends_with(b"\n") {
        let mut more = [0u8; 512];
        let n = (&stream).read(&mut more).map_err(io)?;
        if n == 0 || line.len() + n > MAX_LINE {
            return Err(protocol("the offer was cut short"));
        }
        line.extend_from_slice(&more[..n]);
    }
    let line = String::from_utf8(line).map_err(|_| protocol("the offer is not text"))?;
    let line = line.trim_end_matches('\n');
    if let Some(reason) = line.strip_prefix("refused ") {
        return Err(TakeOverError::Refused(reason.to_string()));
    }
    let offer = line
        .strip_prefix("offer ")
        .ok_or_else(|| protocol("the server answered something else than an offer"))?;
    let (pid, names) = offer.split_once(' ').unwrap_or((offer, ""));
    let pid: u32 = pid
        .parse()
        .map_err(|_| protocol("the offer names no pid"))?;
    let names: Vec<&str> = if names.is_empty() {
        Vec::new()
    } else {
        names.split(':').collect()
    };
    if names.len() != fds.len() {
        return Err(protocol(
            "the offer names more or fewer sockets than it passed",
        ));
    }
    stream.set_read_timeout(None).map_err(io)?;
    Ok(Taken {
        pid,
        sockets: names.into_iter().map(String::from).zip(fds).collect(),
        stream,
    })
}

/// The server's outcome line (step 4), read without blocking after this process said it
/// serves, into `line` across calls: `None` while it has not come; then `Ok` once handed
/// over, else why it failed. A server that closes the connection without a word (it
/// crashed, or was killed) is a failure too: nobody confirmed that this process should
/// serve.
pub(crate) fn poll_outcome(stream: &UnixStream, line: &mut Vec<u8>) -> Option<Result<(), String>> {
    let mut byte = [0u8; 1];
    loop {
        match (&*stream).read(&mut byte) {
            Ok(0) => {
                return Some(Err(String::from(
                    "the old server closed the connection without an answer",
                )))
            }
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if line.len() < MAX_LINE => line.push(byte[0]),
            Ok(_) => return Some(Err(String::from("the old server's answer is too long"))),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) => return Some(Err(format!("reading the old server's answer: {e}"))),
        }
    }
    let text = String::from_utf8_lossy(line);
    Some(match text.as_ref() {
        "handed-over" => Ok(()),
        other => Err(other.strip_prefix("failed ").unwrap_or(other).to_string()),
    })
}

/// `reason` on one line, as the protocol needs it.
fn one_line(reason: &str) -> String {
    reason.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::upgrade::Readiness;
    use core::time::Duration;
    use std::{net::TcpListener, thread};

    const BOUND: Duration = Duration::from_secs(5);

    fn request_over_a_pair() -> (Request, UnixStream) {
        let (server, successor) = UnixStream::pair().unwrap();
        let peer = Peer::of(&server).unwrap();
        (
            Request {
                stream: server,
                peer,
            },
            successor,
        )
    }

    /// The outcome, waiting for it (the tests' streams are blocking).
    fn outcome(stream: &UnixStream) -> Result<(), String> {
        poll_outcome(stream, &mut Vec::new()).expect("a blocking read answers")
    }

    #[test]
    fn the_peer_is_this_process() {
        let (request, _successor) = request_over_a_pair();
        assert_eq!(request.peer().pid, std::process::id());
        assert_eq!(request.peer().uid, rustix::process::getuid().as_raw());
    }

    #[test]
    fn same_user_or_root() {
        let peer = |uid| Peer { pid: 7, uid };
        assert!(peer(1000).authorized(1000));
        assert!(peer(0).authorized(1000), "root may");
        assert!(!peer(1001).authorized(1000));
        assert!(peer(0).authorized(0));
        assert!(
            !peer(1000).authorized(0),
            "a user may not take root's sockets"
        );
    }

    #[test]
    fn sockets_pass_with_their_names_then_ready_then_the_outcome() {
        let (request, successor) = request_over_a_pair();
        let http = TcpListener::bind("127.0.0.1:0").unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").unwrap();
        let sockets = std::vec![
            (
                String::from("http"),
                OwnedFd::from(http.try_clone().unwrap())
            ),
            (
                String::from("admin"),
                OwnedFd::from(admin.try_clone().unwrap())
            ),
        ];
        let offered = request.offer(4242, &sockets).unwrap();
        let taken = receive(successor, BOUND).unwrap();
        assert_eq!(taken.pid, 4242);
        let names: Vec<_> = taken.sockets.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["http", "admin"]);
        // The same sockets: a connect to `http` is accepted from the fd received.
        let received = TcpListener::from(taken.sockets.into_iter().next().unwrap().1);
        assert_eq!(received.local_addr().unwrap(), http.local_addr().unwrap());
        let _client = std::net::TcpStream::connect(http.local_addr().unwrap()).unwrap();
        received.accept().unwrap();
        // Received close-on-exec.
        let flags = rustix::io::fcntl_getfd(&received).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));

        assert_eq!(offered.poll_ready().unwrap(), Readiness::Waiting);
        (&taken.stream)
            .write_all(&[crate::os::upgrade::READY_BYTE])
            .unwrap();
        assert_eq!(offered.poll_ready().unwrap(), Readiness::Ready);
        offered.conclude(Ok(()));
        assert_eq!(outcome(&taken.stream), Ok(()));
    }

    #[test]
    fn a_refusal_says_why() {
        let (request, successor) = request_over_a_pair();
        request.refuse("already\nupgrading");
        match receive(successor, BOUND) {
            Err(TakeOverError::Refused(reason)) => assert_eq!(reason, "already upgrading"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failure_after_ready_reaches_the_successor() {
        let (request, successor) = request_over_a_pair();
        let offered = request.offer(1, &[]).unwrap();
        let taken = receive(successor, BOUND).unwrap();
        assert!(taken.sockets.is_empty());
        offered.conclude(Err("shutting down"));
        assert_eq!(outcome(&taken.stream), Err("shutting down".to_string()));
    }

    #[test]
    fn a_server_gone_without_an_answer_is_a_failure() {
        let (request, successor) = request_over_a_pair();
        let offered = request.offer(1, &[]).unwrap();
        let taken = receive(successor, BOUND).unwrap();
        drop(offered);
        assert!(outcome(&taken.stream).is_err());
    }

    #[test]
    fn a_successor_gone_reads_closed() {
        let (request, successor) = request_over_a_pair();
        let offered = request.offer(1, &[]).unwrap();
        drop(successor);
        assert_eq!(offered.poll_ready().unwrap(), Readiness::Closed);
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        for garbage in [
            &b"offer\n"[..],
            b"offer x http\n",
            b"offer 1 http\n",
            b"hello\n",
            b"\xff\xfe\n",
            b"",
        ] {
            let (server, successor) = UnixStream::pair().unwrap();
            (&server).write_all(garbage).unwrap();
            drop(server);
            assert!(
                matches!(receive(successor, BOUND), Err(TakeOverError::Protocol(_))),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn a_silent_server_is_bounded() {
        let (_server, successor) = UnixStream::pair().unwrap();
        assert!(matches!(
            receive(successor, Duration::from_millis(50)),
            Err(TakeOverError::Protocol(_))
        ));
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lameduck-control-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("control.sock")
    }

    #[test]
    fn bound_0600_refuses_a_live_one_replaces_a_stale_one_and_removes_its_own() {
        let path = scratch("bind");
        let control = ControlSocket::bind(&path).unwrap();
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(ControlSocket::bind(&path), Err(BindError::Taken)));

        // A hand-off over the path itself.
        let server = thread::spawn(move || {
            // Probes (they connect and ask nothing: the bind above, the connect below) are
            // no requests.
            let request = loop {
                if let Some(request) = control.accept().unwrap() {
                    break request;
                }
            };
            assert_eq!(request.peer().pid, std::process::id());
            request.refuse("just a test");
            control
        });
        drop(UnixStream::connect(&path).unwrap());
        assert!(matches!(
            take_over(&path, BOUND),
            Err(TakeOverError::Refused(reason)) if reason == "just a test"
        ));
        let control = server.join().unwrap();

        // The predecessor stops answering; its successor binds the path: the predecessor's
        // drop leaves the successor's socket.
        control.remove();
        assert!(!path.exists());
        let successor = ControlSocket::bind(&path).unwrap();
        drop(control);
        assert!(path.exists(), "the successor's socket stays");
        drop(successor);
        assert!(!path.exists(), "removed at exit");

        // Stale: a socket file nobody listens on.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let control = ControlSocket::bind(&path).expect("a stale socket is replaced");
        drop(control);

        // Not a socket: left alone.
        std::fs::write(&path, "data").unwrap();
        assert!(matches!(
            ControlSocket::bind(&path),
            Err(BindError::NotASocket)
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn nothing_at_the_path() {
        let path = scratch("nothing");
        assert!(matches!(
            take_over(&path, BOUND),
            Err(TakeOverError::Nothing(_))
        ));
        drop(UnixListener::bind(&path).unwrap());
        assert!(
            matches!(take_over(&path, BOUND), Err(TakeOverError::Nothing(_))),
            "a stale socket answers nothing"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
