//! The byte protocol between the host process, the spawn helper, a session's
//! init and a command child.
//!
//! Frames are `u32` little-endian length + payload on a `SOCK_STREAM` unix
//! socket; descriptors ride as `SCM_RIGHTS` on the frame's first byte. Fields
//! are length-prefixed byte strings and lists of them, so nothing is ever
//! split or joined: an argument with spaces or newlines arrives exactly as
//! sent. Every one-byte tag is an enum here ([`Tag`]): written with
//! [`Encoder::tag`], read with [`Decoder::tag`], which names the tag and the
//! byte when it is none of the enum's.
//!
//! Each message is a type here with its `encode` and `decode`, so both
//! ends read one definition:
//! - host -> helper: [`SessionRequest`]; helper -> host: [`SessionReply`]
//!   (on `Ok`, the call channel and the `done` pipe ride as descriptors);
//! - session init -> host, once set up: [`SessionReady`];
//! - host -> session init, per call: [`CallRequest`] (+ stdout, and stderr
//!   when stdout is captured, as descriptors); reply: [`CallReply`];
//! - command child -> session init, on a CLOEXEC pipe, only when it fails
//!   before exec: [`stage_report`] ([`Stage`] + errno).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::confine::SessionLimits;
use crate::{DirAccess, PhaseAccess, PrefixView, SandboxDirs};

/// A one-byte tag of the protocol: each variant has a fixed byte.
pub(crate) trait Tag: Sized + Copy {
    /// What the tag says, for the error on a byte that is no variant.
    const WHAT: &'static str;
    fn byte(self) -> u8;
    fn from_byte(b: u8) -> Option<Self>;
}

/// Enums whose discriminants are their bytes on the wire.
macro_rules! tags {
    ($(
        $(#[$m:meta])*
        enum $name:ident($what:literal) {
            $( $(#[$vm:meta])* $v:ident = $n:literal, )*
        }
    )*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $( $(#[$vm])* $v = $n, )*
        }

        impl Tag for $name {
            const WHAT: &'static str = $what;
            fn byte(self) -> u8 {
                self as u8
            }
            fn from_byte(b: u8) -> Option<Self> {
                match b {
                    $( $n => Some(Self::$v), )*
                    _ => None,
                }
            }
        }
    )*};
}

tags! {
    /// What the host asks of the spawn helper.
    enum Op("operation") {
        /// Set up a build's session (cgroup, namespaces, mount tree).
        NewSession = 1,
    }

    /// The first byte of the helper's answer to [`Op::NewSession`], and of
    /// the message the session init sends once it is set up.
    enum Reply("reply") {
        Ok = 0,
        /// Followed by the reason.
        Unavailable = 1,
        /// A build directory or view layer is refused: followed by its path and the reason.
        BadDir = 2,
    }

    /// The outcome of one call, session init -> host.
    enum CallResult("call result") {
        /// Followed by the exit code (i32).
        Exited = 0,
        /// Followed by the signal number (i32).
        Signaled = 1,
        Timeout = 2,
        /// No candidate of the program exists.
        NotFound = 3,
        /// Followed by the reason.
        Failed = 4,
        /// The build reached a cgroup limit; followed by a [`Limit`].
        Limit = 5,
    }

    /// The whole-build limit a failed command ran into.
    enum Limit("build limit") {
        Memory = 0,
        Processes = 1,
    }

    /// Where a command child failed before exec (see [`stage_report`]).
    enum Stage("child failure stage") {
        Rlimit = 1,
        User = 2,
        Cwd = 3,
        Stdio = 4,
        Landlock = 5,
        Exec = 6,
        NotFound = 7,
        Seccomp = 8,
        Mounts = 9,
    }

    /// How the session init finds a call's program.
    enum TargetKind("program target") {
        /// A bare name, looked up in the toolchain PATH.
        Search = 0,
        /// A path, executed as given.
        Path = 1,
    }
}

impl Tag for DirAccess {
    const WHAT: &'static str = "directory access";
    fn byte(self) -> u8 {
        match self {
            DirAccess::None => 0,
            DirAccess::ReadOnly => 1,
            DirAccess::ReadWrite => 2,
        }
    }
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(DirAccess::None),
            1 => Some(DirAccess::ReadOnly),
            2 => Some(DirAccess::ReadWrite),
            _ => None,
        }
    }
}

/// Walls a session could not raise (only possible with `allow_unconfined`),
/// one bit each on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MissingWalls {
    pub net_ns: bool,
    pub pid_ns: bool,
    pub landlock: bool,
    pub cgroup: bool,
}

impl MissingWalls {
    const NET_NS: u8 = 1;
    const PID_NS: u8 = 2;
    const LANDLOCK: u8 = 4;
    const CGROUP: u8 = 8;

    fn bits(self) -> u8 {
        [
            (self.net_ns, Self::NET_NS),
            (self.pid_ns, Self::PID_NS),
            (self.landlock, Self::LANDLOCK),
            (self.cgroup, Self::CGROUP),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .fold(0, |bits, (_, bit)| bits | bit)
    }

    fn from_bits(bits: u8) -> io::Result<Self> {
        let known = Self::NET_NS | Self::PID_NS | Self::LANDLOCK | Self::CGROUP;
        if bits & !known != 0 {
            return Err(invalid(format!("unknown missing-wall bits {bits:#04x}")));
        }
        Ok(MissingWalls {
            net_ns: bits & Self::NET_NS != 0,
            pid_ns: bits & Self::PID_NS != 0,
            landlock: bits & Self::LANDLOCK != 0,
            cgroup: bits & Self::CGROUP != 0,
        })
    }
}

/// Host -> helper: set up one build's session.
#[derive(Debug)]
pub(crate) struct SessionRequest {
    pub dirs: SandboxDirs,
    pub limits: SessionLimits,
    pub view: Option<PrefixView>,
}

impl SessionRequest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.tag(Op::NewSession)
            .path(&self.dirs.sources)
            .path(&self.dirs.work)
            .path(&self.dirs.destroot)
            .u64(self.limits.memory)
            .u64(self.limits.processes)
            .bool(self.view.is_some());
        if let Some(view) = &self.view {
            e.path(&view.prefix).u64(view.views.len() as u64);
            for layers in &view.views {
                let l: Vec<&[u8]> = layers.iter().map(|p| p.as_os_str().as_bytes()).collect();
                e.list(&l);
            }
        }
        e.finish()
    }

    pub(crate) fn decode(msg: &[u8]) -> io::Result<Self> {
        let mut d = Decoder::new(msg);
        match d.tag()? {
            Op::NewSession => {}
        }
        let dirs = SandboxDirs {
            sources: d.path()?,
            work: d.path()?,
            destroot: d.path()?,
        };
        let limits = SessionLimits {
            memory: d.u64()?,
            processes: d.u64()?,
        };
        let view = match d.bool()? {
            false => None,
            true => {
                let prefix = d.path()?;
                let n = d.u64()?;
                let mut views = Vec::new();
                for _ in 0..n.min(u16::MAX as u64 + 1) {
                    views.push(d.list()?.into_iter().map(to_path).collect());
                }
                Some(PrefixView { prefix, views })
            }
        };
        Ok(SessionRequest { dirs, limits, view })
    }
}

/// Why a session could not be made (by the helper, or by the session
/// itself while setting up).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unavailable(String),
    /// A build directory or view layer (`path`) is refused.
    BadDir {
        path: PathBuf,
        reason: String,
    },
}

impl Refusal {
    pub(crate) fn bad_dir(path: &Path, reason: String) -> Self {
        Refusal::BadDir {
            path: path.to_path_buf(),
            reason,
        }
    }

    fn put(&self, e: &mut Encoder) {
        match self {
            Refusal::Unavailable(reason) => {
                e.tag(Reply::Unavailable).bytes(reason.as_bytes());
            }
            Refusal::BadDir { path, reason } => {
                e.tag(Reply::BadDir).path(path).bytes(reason.as_bytes());
            }
        }
    }

    /// The refusal after its tag (anything but [`Reply::Ok`]).
    fn take(tag: Reply, d: &mut Decoder<'_>) -> io::Result<Self> {
        Ok(match tag {
            Reply::Ok => return Err(invalid("a refusal tagged ok".into())),
            Reply::Unavailable => Refusal::Unavailable(d.string()?),
            Reply::BadDir => Refusal::BadDir {
                path: d.path()?,
                reason: d.string()?,
            },
        })
    }
}

/// Helper -> host: the answer to a [`SessionRequest`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionReply {
    /// The session exists; its call channel and `done` pipe are attached.
    Ok {
        cgroup_dirs: Vec<PathBuf>,
    },
    Refused(Refusal),
}

impl SessionReply {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        match self {
            SessionReply::Ok { cgroup_dirs } => {
                let dirs: Vec<&[u8]> = cgroup_dirs
                    .iter()
                    .map(|d| d.as_os_str().as_bytes())
                    .collect();
                e.tag(Reply::Ok).list(&dirs);
            }
            SessionReply::Refused(r) => r.put(&mut e),
        }
        e.finish()
    }

    pub(crate) fn decode(msg: &[u8]) -> io::Result<Self> {
        let mut d = Decoder::new(msg);
        Ok(match d.tag()? {
            Reply::Ok => SessionReply::Ok {
                cgroup_dirs: d.list()?.into_iter().map(to_path).collect(),
            },
            tag => SessionReply::Refused(Refusal::take(tag, &mut d)?),
        })
    }
}

/// Session init -> host, once: set up (with the walls it could not raise), or not.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionReady {
    Ok(MissingWalls),
    Refused(Refusal),
}

impl SessionReady {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        match self {
            SessionReady::Ok(missing) => {
                e.tag(Reply::Ok).missing(*missing);
            }
            SessionReady::Refused(r) => r.put(&mut e),
        }
        e.finish()
    }

    pub(crate) fn decode(msg: &[u8]) -> io::Result<Self> {
        let mut d = Decoder::new(msg);
        Ok(match d.tag()? {
            Reply::Ok => SessionReady::Ok(d.missing()?),
            tag => SessionReady::Refused(Refusal::take(tag, &mut d)?),
        })
    }
}

/// Host -> session init: one checked call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CallRequest {
    pub access: PhaseAccess,
    pub target: TargetKind,
    /// A name to look up in the toolchain PATH, or a path (see `target`).
    pub program: String,
    pub argv: Vec<Vec<u8>>,
    /// `NAME=value` entries.
    pub env: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub timeout_ms: u64,
}

impl CallRequest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        Encoder::default()
            .tag(self.access.sources)
            .tag(self.access.work)
            .tag(self.access.destroot)
            .u64(self.access.view.map_or(u64::MAX, u64::from))
            .tag(self.target)
            .bytes(self.program.as_bytes())
            .list(&self.argv)
            .list(&self.env)
            .bytes(&self.cwd)
            .u64(self.timeout_ms)
            .finish()
    }

    pub(crate) fn decode(msg: &[u8]) -> io::Result<Self> {
        let mut d = Decoder::new(msg);
        let access = PhaseAccess {
            sources: d.tag()?,
            work: d.tag()?,
            destroot: d.tag()?,
            view: match d.u64()? {
                u64::MAX => None,
                v => Some(u16::try_from(v).map_err(|_| invalid(format!("bad view {v}")))?),
            },
        };
        Ok(CallRequest {
            access,
            target: d.tag()?,
            program: d.string()?,
            argv: d.list()?,
            env: d.list()?,
            cwd: d.bytes()?,
            timeout_ms: d.u64()?,
        })
    }
}

/// How one call ended, as the session init saw it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    Exited(i32),
    Signaled(i32),
    Timeout,
    /// No candidate of the program exists.
    NotFound,
    /// The build reached a cgroup limit and the command failed.
    Limit(Limit),
    /// Anything else that stopped the call.
    Failed(String),
}

/// Session init -> host: one call's answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CallReply {
    /// The records the trace library wrote during the call.
    pub trace: Vec<u8>,
    /// Records past the cap were dropped.
    pub trace_dropped: bool,
    pub outcome: CallOutcome,
}

impl CallReply {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::default();
        e.bytes(&self.trace).bool(self.trace_dropped);
        match &self.outcome {
            CallOutcome::Exited(code) => e.tag(CallResult::Exited).i32(*code),
            CallOutcome::Signaled(sig) => e.tag(CallResult::Signaled).i32(*sig),
            CallOutcome::Timeout => e.tag(CallResult::Timeout),
            CallOutcome::NotFound => e.tag(CallResult::NotFound),
            CallOutcome::Limit(limit) => e.tag(CallResult::Limit).tag(*limit),
            CallOutcome::Failed(reason) => e.tag(CallResult::Failed).bytes(reason.as_bytes()),
        };
        e.finish()
    }

    pub(crate) fn decode(msg: &[u8]) -> io::Result<Self> {
        let mut d = Decoder::new(msg);
        let trace = d.bytes()?;
        let trace_dropped = d.bool()?;
        let outcome = match d.tag()? {
            CallResult::Exited => CallOutcome::Exited(d.i32()?),
            CallResult::Signaled => CallOutcome::Signaled(d.i32()?),
            CallResult::Timeout => CallOutcome::Timeout,
            CallResult::NotFound => CallOutcome::NotFound,
            CallResult::Limit => CallOutcome::Limit(d.tag()?),
            CallResult::Failed => CallOutcome::Failed(d.string()?),
        };
        Ok(CallReply {
            trace,
            trace_dropped,
            outcome,
        })
    }
}

fn to_path(b: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(b))
}

/// Length of a [`stage_report`].
pub(crate) const STAGE_REPORT_LEN: usize = 5;

/// What a command child writes to its error pipe when it fails before
/// exec: the stage, then the errno (i32, little-endian). Short enough for
/// one atomic pipe write.
pub(crate) fn stage_report(stage: Stage, errno: i32) -> [u8; STAGE_REPORT_LEN] {
    let mut b = [0u8; STAGE_REPORT_LEN];
    b[0] = stage.byte();
    b[1..].copy_from_slice(&errno.to_le_bytes());
    b
}

/// The stage and error of a [`stage_report`].
pub(crate) fn read_stage_report(b: &[u8; STAGE_REPORT_LEN]) -> io::Result<(Stage, io::Error)> {
    let mut d = Decoder::new(b);
    let stage = d.tag()?;
    let errno = d.i32()?;
    Ok((stage, io::Error::from_raw_os_error(errno)))
}

fn invalid(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, text)
}

/// Largest frame we accept (argv + env of one call); Linux's ARG_MAX is smaller.
const MAX_FRAME: usize = 16 << 20;
const MAX_FDS: usize = 4;

#[derive(Default)]
pub(crate) struct Encoder(Vec<u8>);

impl Encoder {
    pub(crate) fn tag<T: Tag>(&mut self, t: T) -> &mut Self {
        self.0.push(t.byte());
        self
    }
    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.0.push(u8::from(v));
        self
    }
    pub(crate) fn missing(&mut self, m: MissingWalls) -> &mut Self {
        self.0.push(m.bits());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    pub(crate) fn path(&mut self, p: &Path) -> &mut Self {
        self.bytes(p.as_os_str().as_bytes())
    }
    pub(crate) fn list<T: AsRef<[u8]>>(&mut self, items: &[T]) -> &mut Self {
        self.u32(items.len() as u32);
        for i in items {
            self.bytes(i.as_ref());
        }
        self
    }
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

pub(crate) struct Decoder<'a>(&'a [u8]);

fn short() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "truncated message")
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Decoder(b)
    }
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(short());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// A tag, or an error naming what was expected and the byte found.
    pub(crate) fn tag<T: Tag>(&mut self) -> io::Result<T> {
        let b = self.u8()?;
        T::from_byte(b).ok_or_else(|| invalid(format!("unknown {} tag {b}", T::WHAT)))
    }
    pub(crate) fn bool(&mut self) -> io::Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(invalid(format!("unknown boolean {b}"))),
        }
    }
    pub(crate) fn missing(&mut self) -> io::Result<MissingWalls> {
        MissingWalls::from_bits(self.u8()?)
    }
    pub(crate) fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| short())?,
        ))
    }
    pub(crate) fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| short())?,
        ))
    }
    pub(crate) fn i32(&mut self) -> io::Result<i32> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| short())?,
        ))
    }
    pub(crate) fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    pub(crate) fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
    }
    pub(crate) fn path(&mut self) -> io::Result<PathBuf> {
        Ok(to_path(self.bytes()?))
    }
    pub(crate) fn list(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.bytes()).collect()
    }
}

/// Send one frame, with `fds` attached to its first byte.
pub(crate) fn send(sock: &UnixStream, payload: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    let mut sent = 0;
    if !fds.is_empty() {
        assert!(fds.len() <= MAX_FDS);
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
        sent = loop {
            match rustix::net::sendmsg(
                sock,
                &[IoSlice::new(&frame)],
                &mut control,
                SendFlags::NOSIGNAL,
            ) {
                Ok(n) => break n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
    }
    (&*sock).write_all(&frame[sent..])
}

/// Receive one frame and any descriptors attached to it.
pub(crate) fn recv(sock: &UnixStream) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut hdr = [0u8; 4];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    // CMSG_CLOEXEC keeps received descriptors out of children.
    let n = loop {
        match rustix::net::recvmsg(
            sock,
            &mut [IoSliceMut::new(&mut hdr)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => break r.bytes,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    };
    let mut fds = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "peer closed the channel",
        ));
    }
    (&*sock).read_exact(&mut hdr[n..])?;
    let len = u32::from_le_bytes(hdr) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    (&*sock).read_exact(&mut payload)?;
    Ok((payload, fds))
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn round_trip_keeps_arguments_whole() {
        let args = ["a b", "", "new\nline", "ünï"];
        let msg = Encoder::default()
            .tag(CallResult::Limit)
            .list(&args)
            .u64(u64::MAX)
            .i32(-3)
            .finish();
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = crate::sys::pipe().unwrap();
        send(&a, &msg, &[w.as_fd()]).unwrap();
        let (got, fds) = recv(&b).unwrap();
        assert_eq!(fds.len(), 1);
        let mut d = Decoder::new(&got);
        assert_eq!(d.tag::<CallResult>().unwrap(), CallResult::Limit);
        let list = d.list().unwrap();
        assert_eq!(
            list,
            args.iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        assert_eq!(d.u64().unwrap(), u64::MAX);
        assert_eq!(d.i32().unwrap(), -3);
        drop(r);
    }

    #[test]
    fn an_unknown_tag_is_an_error_naming_it() {
        let msg = [9u8];
        let e = Decoder::new(&msg).tag::<CallResult>().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "unknown call result tag 9");
        let e = Decoder::new(&[3]).tag::<DirAccess>().unwrap_err();
        assert_eq!(e.to_string(), "unknown directory access tag 3");
        let e = Decoder::new(&[2]).bool().unwrap_err();
        assert_eq!(e.to_string(), "unknown boolean 2");
        let e = Decoder::new(&[0x10]).missing().unwrap_err();
        assert_eq!(e.to_string(), "unknown missing-wall bits 0x10");
    }

    #[test]
    fn every_message_round_trips() {
        let request = SessionRequest {
            dirs: SandboxDirs {
                sources: "/s".into(),
                work: "/w x".into(),
                destroot: "/d\nn".into(),
            },
            limits: SessionLimits {
                memory: 1 << 30,
                processes: 64,
            },
            view: Some(PrefixView {
                prefix: "/opt/wport".into(),
                views: vec![vec![], vec!["/opt/wport/.wport/store/a@1".into()]],
            }),
        };
        let back = SessionRequest::decode(&request.encode()).unwrap();
        assert_eq!(back.dirs.work, request.dirs.work);
        assert_eq!(back.dirs.destroot, request.dirs.destroot);
        assert_eq!(back.limits.processes, 64);
        assert_eq!(back.view.unwrap().views, request.view.unwrap().views);

        for reply in [
            SessionReply::Ok {
                cgroup_dirs: vec!["/sys/fs/cgroup/wport-build-1-1".into()],
            },
            SessionReply::Refused(Refusal::Unavailable("fork: EAGAIN".into())),
            SessionReply::Refused(Refusal::BadDir {
                path: "/a b".into(),
                reason: "not a directory".into(),
            }),
        ] {
            assert_eq!(SessionReply::decode(&reply.encode()).unwrap(), reply);
        }
        for ready in [
            SessionReady::Ok(MissingWalls {
                pid_ns: true,
                ..MissingWalls::default()
            }),
            SessionReady::Refused(Refusal::Unavailable("no userns".into())),
        ] {
            assert_eq!(SessionReady::decode(&ready.encode()).unwrap(), ready);
        }

        let call = CallRequest {
            access: PhaseAccess {
                sources: DirAccess::ReadOnly,
                work: DirAccess::ReadWrite,
                destroot: DirAccess::None,
                view: Some(1),
            },
            target: TargetKind::Search,
            program: "make".into(),
            argv: vec![b"make".to_vec(), b"-j 2".to_vec(), Vec::new()],
            env: vec![b"A=b=c".to_vec()],
            cwd: b"/work".to_vec(),
            timeout_ms: u64::MAX,
        };
        assert_eq!(CallRequest::decode(&call.encode()).unwrap(), call);
        for outcome in [
            CallOutcome::Exited(2),
            CallOutcome::Signaled(9),
            CallOutcome::Timeout,
            CallOutcome::NotFound,
            CallOutcome::Limit(Limit::Processes),
            CallOutcome::Failed("exec: EACCES".into()),
        ] {
            let reply = CallReply {
                trace: b"record".to_vec(),
                trace_dropped: true,
                outcome,
            };
            assert_eq!(CallReply::decode(&reply.encode()).unwrap(), reply);
        }
    }

    #[test]
    fn every_tag_round_trips() {
        fn all<T: Tag + PartialEq + std::fmt::Debug>() -> usize {
            (0..=u8::MAX)
                .filter_map(T::from_byte)
                .inspect(|t| assert_eq!(T::from_byte(t.byte()), Some(*t)))
                .count()
        }
        assert_eq!(all::<Op>(), 1);
        assert_eq!(all::<Reply>(), 3);
        assert_eq!(all::<CallResult>(), 6);
        assert_eq!(all::<Limit>(), 2);
        assert_eq!(all::<Stage>(), 9);
        assert_eq!(all::<TargetKind>(), 2);
        assert_eq!(all::<DirAccess>(), 3);
        for bits in 0..16 {
            let m = MissingWalls::from_bits(bits).unwrap();
            assert_eq!(m.bits(), bits);
        }
        let (stage, e) = read_stage_report(&stage_report(Stage::Cwd, libc::ENOENT)).unwrap();
        assert_eq!((stage, e.raw_os_error()), (Stage::Cwd, Some(libc::ENOENT)));
    }
}
