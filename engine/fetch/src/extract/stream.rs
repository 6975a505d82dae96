//! The decompression stream under the tar reader: file -> [decompressor
//! thread] -> bounded channel -> metered reader -> `tar::Archive`.
//!
//! Compressed tarballs are decompressed on their own thread, which hands
//! 128 KiB chunks over a bounded channel, so inflating and writing overlap (as
//! `tar -xzf` does with its `gzip` child). The [`Meter`] shared with the
//! extraction loop counts header bytes and the decompression ratio and keeps
//! the typed reason a read failed, which the tar crate only sees as an
//! `io::Error`.

use super::*;

/// Failures raised by the byte stream under the tar reader. The tar crate only
/// sees an `io::Error`; the typed failure waits here to be reported precisely.
pub(super) enum StreamFailure {
    Limit { what: Limit, limit: u64 },
    Decode(io::Error),
}

/// Shared between the stream (owned by `tar::Archive`) and the extraction loop.
#[derive(Default)]
pub(super) struct Meter {
    pub(super) failure: Cell<Option<StreamFailure>>,
    /// Counting bytes toward [`MAX_METADATA_BYTES`] (only while the tar crate is
    /// reading headers, i.e. during `Entries::next`).
    armed: Cell<bool>,
    since_arm: Cell<u64>,
}

impl Meter {
    pub(super) fn arm(&self) {
        self.armed.set(true);
        self.since_arm.set(0);
    }

    pub(super) fn disarm(&self) {
        self.armed.set(false);
    }

    fn fail(&self, f: StreamFailure) -> io::Error {
        self.failure.set(Some(f));
        io::Error::other("archive stream stopped")
    }

    /// Accounts for `n` bytes just handed to the tar reader.
    fn count(&self, n: usize) -> io::Result<()> {
        if self.armed.get() {
            let total = self.since_arm.get() + n as u64;
            self.since_arm.set(total);
            if total > MAX_METADATA_BYTES + 1024 {
                return Err(self.fail(StreamFailure::Limit {
                    what: Limit::MetadataBytes,
                    limit: MAX_METADATA_BYTES,
                }));
            }
        }
        Ok(())
    }
}

pub(super) enum Msg {
    Data(Vec<u8>, usize),
    End,
    Fail(StreamFailure),
}

/// The tar reader's end of the channel.
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<Msg>,
    recycle: mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    len: usize,
    ended: bool,
    meter: Rc<Meter>,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Data(buf, len)) => {
                    let old = std::mem::replace(&mut self.cur, buf);
                    // The decompressor reuses spent buffers; if it has enough, drop this one.
                    if old.len() == CHUNK {
                        let _ = self.recycle.try_send(old);
                    }
                    self.pos = 0;
                    self.len = len;
                }
                Ok(Msg::End) => self.ended = true,
                Ok(Msg::Fail(f)) => return Err(self.meter.fail(f)),
                // The thread went away without saying End: never take that for a
                // clean end of archive, or a crash would look like a short tarball.
                Err(_) => {
                    return Err(self.meter.fail(StreamFailure::Decode(io::Error::other(
                        "decompressor thread stopped unexpectedly",
                    ))));
                }
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        self.meter.count(n)?;
        Ok(n)
    }
}

/// An uncompressed tarball read directly (no thread: there is nothing to overlap).
pub(super) struct PlainReader {
    inner: BufReader<fs::File>,
    meter: Rc<Meter>,
}

impl Read for PlainReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.meter.count(n)?;
        Ok(n)
    }
}

/// Counts compressed bytes consumed, for the ratio check.
pub(super) struct CountingReader {
    inner: fs::File,
    count: u64,
}

impl Read for CountingReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Runs on the decompressor thread: inflates `file`, enforces the ratio, and
/// sends chunks until the reader hangs up or the stream ends.
pub(super) fn decompress(
    file: fs::File,
    format: Format,
    max_ratio: u64,
    tx: mpsc::SyncSender<Msg>,
    recycle: mpsc::Receiver<Vec<u8>>,
) {
    let input = BufReader::with_capacity(
        256 * 1024,
        CountingReader {
            inner: file,
            count: 0,
        },
    );
    // Multi-member/multi-stream decoders: `cat a.gz b.gz` is a valid .gz, as
    // GNU tar (through gzip) accepts.
    let mut decoder: Box<dyn DecoderRead> = match format {
        Format::TarGz => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Format::TarXz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(input)),
        Format::TarBz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Format::TarZst => match zstd::stream::read::Decoder::with_buffer(input) {
            Ok(d) => Box::new(d),
            Err(e) => {
                let _ = tx.send(Msg::Fail(StreamFailure::Decode(e)));
                return;
            }
        },
        Format::Tar | Format::Zip => unreachable!("not a compressed tarball"),
    };
    let mut produced: u64 = 0;
    loop {
        let mut buf = recycle.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let mut len = 0;
        while len < CHUNK {
            match decoder.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Msg::Fail(StreamFailure::Decode(e)));
                    return;
                }
            }
        }
        if len == 0 {
            let _ = tx.send(Msg::End);
            return;
        }
        produced += len as u64;
        let consumed = decoder.consumed().max(1);
        if produced > RATIO_GRACE_BYTES && produced > consumed.saturating_mul(max_ratio) {
            let _ = tx.send(Msg::Fail(StreamFailure::Limit {
                what: Limit::Ratio,
                limit: max_ratio,
            }));
            return;
        }
        if tx.send(Msg::Data(buf, len)).is_err() {
            return; // the reader stopped (error or end of archive)
        }
    }
}

/// A decoder that can say how many compressed bytes it has pulled from the file.
/// The decompressor thread.
pub(super) type Worker = thread::JoinHandle<()>;

/// The reader the tar crate reads: the file itself for a plain tar, else the
/// receiving end of a channel fed by a decompressor thread (returned, to be
/// joined once the reader is dropped). Fails only if the thread cannot start.
pub(super) fn open_stream(
    file: fs::File,
    format: Format,
    max_ratio: u64,
    meter: &Rc<Meter>,
) -> io::Result<(Box<dyn Read>, Option<Worker>)> {
    if format == Format::Tar {
        let inner = BufReader::with_capacity(256 * 1024, file);
        return Ok((
            Box::new(PlainReader {
                inner,
                meter: meter.clone(),
            }),
            None,
        ));
    }
    let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
    let (recycle_tx, recycle_rx) = mpsc::sync_channel(CHANNEL_DEPTH + 2);
    let worker = thread::Builder::new()
        .name("wport-decompress".into())
        .spawn(move || decompress(file, format, max_ratio, tx, recycle_rx))?;
    let reader = ChannelReader {
        rx,
        recycle: recycle_tx,
        cur: Vec::new(),
        pos: 0,
        len: 0,
        ended: false,
        meter: meter.clone(),
    };
    Ok((Box::new(reader), Some(worker)))
}

pub(super) trait DecoderRead: Read {
    fn consumed(&self) -> u64;
}

macro_rules! consumed_via_get_ref {
    ($($t:ty),*) => {$(
        impl DecoderRead for $t {
            fn consumed(&self) -> u64 {
                self.get_ref().get_ref().count
            }
        }
    )*};
}
pub(super) type Input = BufReader<CountingReader>;
consumed_via_get_ref!(
    flate2::bufread::MultiGzDecoder<Input>,
    xz2::bufread::XzDecoder<Input>,
    bzip2::bufread::MultiBzDecoder<Input>,
    zstd::stream::read::Decoder<'static, Input>
);
