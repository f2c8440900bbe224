//! Layer compression, for sources that hold layers uncompressed (a classic Docker engine's
//! `docker save`). Layers are compressed in parallel on blocking threads into a cache keyed by
//! the layer's uncompressed digest (its diff_id), so pushing the same image again compresses
//! nothing: the compressed digest is known without reading the layer.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::{
    Blob, BlobFile, Descriptor, Digest, Image, ImageError, Manifest, OCI_CONFIG, OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD, OCI_MANIFEST, ReadOptions,
};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Every runtime pulls it.
    #[default]
    Gzip,
    /// Smaller and faster to decompress: Fargate pulls and starts zstd images faster.
    Zstd,
}

impl Compression {
    fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => OCI_LAYER_GZIP,
            Compression::Zstd => OCI_LAYER_ZSTD,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Compressible blocks get gzip level 2: with zlib-rs about as fast as level 1 but a third
/// smaller on text (level 1 is zlib-ng's "quick" strategy). Incompressible blocks are stored.
const GZIP_LEVEL: u32 = 2;
const ZSTD_LEVEL: i32 = 3;
const ZSTD_JOB_BYTES: u32 = 1024 * 1024;

/// What a layer's bytes are, judged by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerFormat {
    Gzip,
    Zstd,
    Tar,
}

impl LayerFormat {
    /// Judged by a layer's first four bytes (gzip's and zstd's magic numbers).
    pub fn of_head(head: [u8; 4]) -> LayerFormat {
        match head {
            [0x1f, 0x8b, ..] => LayerFormat::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd] => LayerFormat::Zstd,
            _ => LayerFormat::Tar,
        }
    }
}

pub fn sniff(file: &BlobFile) -> Result<LayerFormat, ImageError> {
    let mut head = [0u8; 4];
    let mut reader = file
        .open_blocking()
        .map_err(ImageError::io(file.path.display()))?;
    read_full(&mut reader, &mut head).map_err(ImageError::io(file.path.display()))?;
    Ok(LayerFormat::of_head(head))
}

/// How far a layer's compression has come, for whoever reads its file as it grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Growth {
    /// This many compressed bytes are in the file so far.
    Written(u64),
    /// Complete: the file holds exactly this blob.
    Finished(Descriptor),
}

/// Told of each layer as its compression starts (the registry side uploads it while it is
/// compressed). A sender dropped before `Finished` means the layer was abandoned: damaged,
/// not one of the image's, or its compression failed.
pub trait LayerWatcher: Send + Sync {
    /// `file` is the layer's compressed file, opened for reading before any byte is written
    /// (it is renamed into the cache when complete; the open file stays valid).
    fn compressing(&self, file: std::fs::File, growth: tokio::sync::watch::Receiver<Growth>);
}

/// A shared watcher, in `ReadOptions`.
#[derive(Clone)]
pub struct Watcher(pub std::sync::Arc<dyn LayerWatcher>);

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// A layer as a source holds it.
#[derive(Debug, Clone)]
pub struct SourceLayer {
    pub file: BlobFile,
    /// The uncompressed digest from the image config (`rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Set when the source already knows the compressed descriptor (OCI layouts).
    pub descriptor: Option<Descriptor>,
}

/// Turns source layers into pushable blobs: compressed ones pass as they are, uncompressed
/// ones are compressed (in parallel, through the cache). Returns the blobs and how many were
/// compressed.
pub async fn prepare_layers(
    layers: Vec<SourceLayer>,
    options: &ReadOptions,
) -> Result<(Vec<Blob>, usize), ImageError> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, layer) in layers.into_iter().enumerate() {
        let gate = gate.clone();
        let compression = options.compression;
        let cache = cache_folder(&options.cache_dir, compression);
        let watcher = options.watcher.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("never closed");
            let result = tokio::task::spawn_blocking(move || {
                prepare_one(layer, compression, &cache, watcher.as_ref())
            })
            .await
            .expect("compression does not panic");
            (index, result)
        });
    }
    let mut prepared: Vec<Option<(Blob, bool)>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.expect("compression task completes");
        if prepared.len() <= index {
            prepared.resize(index + 1, None);
        }
        prepared[index] = Some(result?);
    }
    let compressed = prepared.iter().flatten().filter(|(_, c)| *c).count();
    Ok((
        prepared
            .into_iter()
            .map(|p| p.expect("every layer").0)
            .collect(),
        compressed,
    ))
}

fn prepare_one(
    layer: SourceLayer,
    compression: Compression,
    cache: &Path,
    watcher: Option<&Watcher>,
) -> Result<(Blob, bool), ImageError> {
    let format = sniff(&layer.file)?;
    if format != LayerFormat::Tar {
        let descriptor = match layer.descriptor {
            Some(d) => d,
            None => {
                // A compressed layer without a descriptor (some `docker save` archives): hash it.
                let reader = layer
                    .file
                    .open_blocking()
                    .map_err(ImageError::io(layer.file.path.display()))?;
                let (digest, size) =
                    Digest::of_reader(reader).map_err(ImageError::io(layer.file.path.display()))?;
                Descriptor {
                    media_type: match format {
                        LayerFormat::Zstd => OCI_LAYER_ZSTD,
                        _ => OCI_LAYER_GZIP,
                    }
                    .to_string(),
                    digest,
                    size,
                    annotations: None,
                    platform: None,
                }
            }
        };
        return Ok((
            Blob {
                descriptor,
                file: layer.file,
            },
            false,
        ));
    }
    let blob = compress_cached(&layer.file, &layer.diff_id, compression, cache, watcher)?;
    Ok((blob, true))
}

/// Where a compressed layer lives in the cache, and its recorded digest.
fn cache_paths(cache: &Path, diff_id: &Digest) -> (PathBuf, PathBuf) {
    (
        cache.join(diff_id.hex()),
        cache.join(format!("{}.digest", diff_id.hex())),
    )
}

fn compress_cached(
    source: &BlobFile,
    diff_id: &Digest,
    compression: Compression,
    cache: &Path,
    watcher: Option<&Watcher>,
) -> Result<Blob, ImageError> {
    if let Some(cached) = cached(cache, diff_id, compression) {
        tracing::debug!(%diff_id, "compressed layer found in the cache");
        return Ok(cached.blob);
    }
    let input = source
        .open_blocking()
        .map_err(ImageError::io(source.path.display()))?;
    let written = compress_into_cache(input, compression, cache, watcher, |actual| {
        actual == diff_id
    })
    .map_err(ImageError::io(source.path.display()))?;
    match written {
        Written::Kept(blob) => Ok(blob),
        Written::Refused(actual) => Err(ImageError::invalid(
            source.path.display(),
            format!(
                "layer content is {actual}, but the image config says {diff_id}: the archive is damaged"
            ),
        )),
    }
}

/// What `compress_into_cache` did with a layer.
pub enum Written {
    /// Compressed and kept in the cache under its uncompressed digest.
    Kept(Blob),
    /// Its uncompressed digest (given) was not wanted: nothing was kept.
    Refused(Digest),
}

/// Compresses a layer tar read from `input` into the cache, hashing what goes in and what comes
/// out, and keeps it under its uncompressed digest if `wanted` accepts that digest. The one
/// place the cache is written, so a layer compressed while an export streams by and one
/// compressed from a file are the same bytes under the same name.
pub fn compress_into_cache(
    input: impl Read,
    compression: Compression,
    cache: &Path,
    watcher: Option<&Watcher>,
    wanted: impl FnOnce(&Digest) -> bool,
) -> std::io::Result<Written> {
    std::fs::create_dir_all(cache)?;
    // Written beside the final name and renamed when complete: a crash leaves no half file.
    let temp = tempfile::NamedTempFile::new_in(cache)?;
    let (growth, growth_seen) = tokio::sync::watch::channel(Growth::Written(0));
    if let Some(Watcher(watcher)) = watcher {
        // Its own open file: a clone of `temp`'s handle would share the write position.
        watcher.compressing(std::fs::File::open(temp.path())?, growth_seen);
    }
    let mut input = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        read: 0,
    };
    let mut output = HashingWriter {
        inner: std::io::BufWriter::with_capacity(
            256 * 1024,
            GrowingFile {
                file: temp.as_file().try_clone()?,
                written: 0,
                growth: &growth,
            },
        ),
        hasher: Sha256::new(),
        written: 0,
    };
    match compression {
        Compression::Gzip => AdaptiveGzip::new(&mut output).compress_all(&mut input)?,
        Compression::Zstd => zstd_on_every_core(&mut input, &mut output, cores())?,
    }
    output.inner.flush()?;
    let HashingWriter {
        inner,
        hasher: output_hasher,
        written: size,
    } = output;
    drop(inner);
    let diff_id = Digest::from_hasher(input.hasher);
    if !wanted(&diff_id) {
        return Ok(Written::Refused(diff_id));
    }
    let digest = Digest::from_hasher(output_hasher);
    let (data_path, record_path) = cache_paths(cache, &diff_id);
    temp.persist(&data_path).map_err(|e| e.error)?;
    // The uncompressed size too: an export can then tell a cached layer by its tar header.
    std::fs::write(&record_path, format!("{digest} {size} {}\n", input.read))?;
    let descriptor = layer_descriptor(compression, digest, size);
    growth.send_replace(Growth::Finished(descriptor.clone()));
    Ok(Written::Kept(Blob {
        descriptor,
        file: BlobFile::whole(data_path, size),
    }))
}

/// The compressed layer's file, telling how many bytes are in it after each write.
struct GrowingFile<'a> {
    file: std::fs::File,
    written: u64,
    growth: &'a tokio::sync::watch::Sender<Growth>,
}

impl Write for GrowingFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.growth.send_replace(Growth::Written(self.written));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A compressed layer in the cache.
pub struct CachedLayer {
    pub blob: Blob,
    /// The layer's uncompressed size (not recorded by versions before 2026-12-04).
    pub uncompressed: Option<u64>,
}

/// The cache folder of compressed layers for `compression`.
pub fn cache_folder(cache_dir: &Path, compression: Compression) -> PathBuf {
    cache_dir.join("layers").join(compression.name())
}

/// The compressed form of the layer `diff_id`, if the cache holds it whole.
pub fn cached(cache: &Path, diff_id: &Digest, compression: Compression) -> Option<CachedLayer> {
    let (data_path, record_path) = cache_paths(cache, diff_id);
    let record = std::fs::read_to_string(record_path).ok()?;
    let mut fields = record.split_whitespace();
    let digest = Digest::parse(fields.next()?).ok()?;
    let size: u64 = fields.next()?.parse().ok()?;
    let uncompressed = fields.next().and_then(|n| n.parse().ok());
    let on_disk = std::fs::metadata(&data_path).ok()?.len();
    (on_disk == size).then(|| CachedLayer {
        blob: Blob {
            descriptor: layer_descriptor(compression, digest, size),
            file: BlobFile::whole(data_path, size),
        },
        uncompressed,
    })
}

fn layer_descriptor(compression: Compression, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: compression.media_type().to_string(),
        digest,
        size,
        annotations: None,
        platform: None,
    }
}

/// Builds an OCI manifest for a config and prepared layers (sources without a usable manifest).
pub fn build_image(config: Blob, layers: Vec<Blob>, layers_compressed: usize) -> Image {
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_string()),
        config: Descriptor {
            media_type: OCI_CONFIG.to_string(),
            ..config.descriptor.clone()
        },
        layers: layers.iter().map(|l| l.descriptor.clone()).collect(),
        annotations: None,
    };
    Image {
        manifest: serde_json::to_vec(&manifest).expect("a manifest serializes"),
        manifest_media_type: OCI_MANIFEST.to_string(),
        config: Blob {
            descriptor: manifest.config.clone(),
            file: config.file,
        },
        layers,
        layers_compressed,
    }
}

/// Bytes per block judged for compressibility.
const BLOCK: usize = 1024 * 1024;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// zstd on `workers` threads (libzstd's multi-threaded mode, the `zstdmt` feature): the input
/// is cut into jobs compressed side by side. Its output depends on the level and the job size,
/// not on how many workers ran, so a layer gets the same bytes and digest on any machine (the
/// unit test checks 1 against 3 workers). Single-threaded mode (0 workers) would give other
/// bytes, so it is never used.
fn zstd_on_every_core(
    input: &mut impl Read,
    out: &mut impl Write,
    workers: usize,
) -> std::io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
    encoder.multithread(workers.max(1) as u32)?;
    // libzstd's default job is 8 MiB at this level, and it keeps a pool of jobs per worker:
    // over 60 MiB of buffers per layer. 1 MiB jobs keep a push's memory low and cost well
    // under 1% of the size. (Part of the output's definition: never change it lightly.)
    encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_BYTES))?;
    std::io::copy(input, &mut encoder)?;
    encoder.finish()?;
    Ok(())
}

/// A gzip writer that compresses one layer on every core, stores blocks which would not
/// shrink and deflates the rest.
///
/// Written by hand because no maintained crate does both: flate2's `GzEncoder` compresses on
/// one core at one level, and deflating incompressible data (already-compressed files in a
/// layer, random test data) costs 50-90 MB/s of CPU to save nothing; skopeo's compressor skips
/// such blocks too. (gzp compresses in parallel, but cannot store a block it judges
/// incompressible, and its output depends on its buffer settings.)
///
/// How (pigz's approach): the layer is cut into blocks of `BLOCK` bytes; each block becomes a
/// piece of raw deflate on its own (deflated and sync-flushed so that it ends on a byte
/// boundary and is not final, or written as stored blocks), several blocks at once on scoped
/// threads; the pieces are written in order, then one empty final block and the gzip trailer.
/// A batch holds one block per thread: batches of 2 or 3 blocks per thread, taken by whichever
/// thread was free, were no faster on 2 cores with a 170 MiB Debian layer (1.20-1.27 s against
/// 1.25-1.27 s) and took 7-15 MiB more memory.
/// A block never refers back into the one before it, so the result does not depend on how many
/// threads there were: the same layer always gets the same bytes and digest (mtime 0). The
/// cost is the back-references lost at each block's start: under 1% of the size.
struct AdaptiveGzip<W: Write> {
    out: W,
    crc: flate2::Crc,
    threads: usize,
}

impl<W: Write> AdaptiveGzip<W> {
    fn new(out: W) -> Self {
        AdaptiveGzip::with_threads(out, cores())
    }

    fn with_threads(out: W, threads: usize) -> Self {
        AdaptiveGzip {
            out,
            crc: flate2::Crc::new(),
            threads: threads.max(1),
        }
    }

    fn compress_all(mut self, input: &mut impl Read) -> std::io::Result<()> {
        // The fixed gzip header: deflate, no name, mtime 0, unknown OS.
        self.out
            .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
        let threads = self.threads;
        let mut current = read_batch(input, threads)?;
        while !current.is_empty() {
            for block in &current {
                self.crc.update(block);
            }
            // A short batch, or a short block, is the end of the input.
            let last = current.len() < threads || current.last().map(Vec::len) != Some(BLOCK);
            // One thread per block; the next batch is read (and hashed, by the caller's
            // reader) while this one is deflated, so the reading does not leave the cores idle.
            let (pieces, next) = std::thread::scope(|scope| {
                let running: Vec<_> = current
                    .iter()
                    .map(|block| scope.spawn(move || deflate_block(block)))
                    .collect();
                let next = if last {
                    Ok(Vec::new())
                } else {
                    read_batch(input, threads)
                };
                let pieces: Vec<std::io::Result<Vec<u8>>> = running
                    .into_iter()
                    .map(|t| t.join().expect("deflate does not panic"))
                    .collect();
                (pieces, next)
            });
            for piece in pieces {
                self.out.write_all(&piece?)?;
            }
            current = next?;
        }
        // The final block: empty, fixed Huffman (BFINAL 1, BTYPE 01, end-of-block), then the
        // gzip trailer.
        self.out.write_all(&[0x03, 0x00])?;
        let trailer = [
            self.crc.sum().to_le_bytes(),
            self.crc.amount().to_le_bytes(),
        ]
        .concat();
        self.out.write_all(&trailer)
    }
}

/// One block as a piece of raw deflate that ends on a byte boundary and is not final: stored
/// when it would not shrink, else deflated on its own and sync-flushed.
fn deflate_block(data: &[u8]) -> std::io::Result<Vec<u8>> {
    if incompressible(data) {
        let mut out = Vec::with_capacity(data.len() + data.len() / 65_535 * 5 + 5);
        for chunk in data.chunks(65_535) {
            let len = chunk.len() as u16;
            // BFINAL 0, BTYPE 00 (stored), padded to the byte; then LEN and its complement.
            out.push(0);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        return Ok(out);
    }
    let mut deflate = flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        let consumed = deflate.total_in() as usize;
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64 * 1024));
        }
        deflate
            .compress_vec(&data[consumed..], &mut out, flate2::FlushCompress::Sync)
            .map_err(std::io::Error::other)?;
        // Done once every byte went in and the flush did not run out of room.
        if deflate.total_in() as usize == data.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

/// Up to `count` blocks of `BLOCK` bytes, in order; a short block is the last.
fn read_batch(input: &mut impl Read, count: usize) -> std::io::Result<Vec<Vec<u8>>> {
    let mut blocks = Vec::with_capacity(count);
    while blocks.len() < count {
        let mut block = vec![0u8; BLOCK];
        let n = read_full(input, &mut block)?;
        if n == 0 {
            break;
        }
        block.truncate(n);
        blocks.push(block);
        if n < BLOCK {
            break;
        }
    }
    Ok(blocks)
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Byte entropy of a sample of the block above 7.9 bits: deflate would not shrink it.
fn incompressible(block: &[u8]) -> bool {
    let mut counts = [0u32; 256];
    let mut sampled = 0u32;
    // Every 7th byte: enough to judge, cheap next to hashing the whole block.
    for &b in block.iter().step_by(7) {
        counts[b as usize] += 1;
        sampled += 1;
    }
    if sampled < 4096 {
        return false;
    }
    let n = sampled as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    entropy > 7.9
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, compression: Compression) -> ReadOptions {
        ReadOptions {
            compression,
            architecture: "amd64".into(),
            cache_dir: dir.join("cache"),
            watcher: None,
        }
    }

    #[tokio::test]
    async fn uncompressed_layers_are_compressed_once_and_then_come_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let path = dir.path().join("layer.tar");
        std::fs::write(&path, &data).unwrap();
        let layer = SourceLayer {
            file: BlobFile::whole(path.clone(), data.len() as u64),
            diff_id: Digest::of_bytes(&data),
            descriptor: None,
        };
        for compression in [Compression::Gzip, Compression::Zstd] {
            let opts = options(dir.path(), compression);
            let (blobs, compressed) = prepare_layers(vec![layer.clone()], &opts).await.unwrap();
            assert_eq!(compressed, 1);
            let blob = &blobs[0];
            assert_eq!(blob.descriptor.media_type, compression.media_type());
            let bytes = std::fs::read(&blob.file.path).unwrap();
            assert_eq!(Digest::of_bytes(&bytes), blob.descriptor.digest);
            let mut round_trip = Vec::new();
            match compression {
                Compression::Gzip => {
                    flate2::read::GzDecoder::new(&bytes[..])
                        .read_to_end(&mut round_trip)
                        .unwrap();
                }
                Compression::Zstd => round_trip = zstd::decode_all(&bytes[..]).unwrap(),
            }
            assert_eq!(round_trip, data);

            // Second time: the cache answers. Damage the source's tail: re-reading it would
            // fail the diff_id check, so success proves nothing was recompressed.
            let mut damaged = data.clone();
            let end = damaged.len();
            damaged[end - 10..].fill(0);
            std::fs::write(&path, &damaged).unwrap();
            let (again, _) = prepare_layers(vec![layer.clone()], &opts).await.unwrap();
            assert_eq!(again[0].descriptor, blob.descriptor);
            std::fs::write(&path, &data).unwrap();
        }
    }

    #[test]
    fn adaptive_gzip_stores_noise_deflates_text_and_round_trips() {
        let mut rng = fastrand::Rng::with_seed(7);
        let noise: Vec<u8> = (0..3 * BLOCK).map(|_| rng.u8(..)).collect();
        let text = "a layer full of text compresses well\n"
            .repeat(100_000)
            .into_bytes();
        // Noise, then text, then noise again: the level switches twice and back.
        let mixed = [noise.clone(), text.clone(), noise[..BLOCK / 2].to_vec()].concat();
        for input in [&noise, &text, &mixed, &Vec::new()] {
            let mut out = Vec::new();
            AdaptiveGzip::new(&mut out)
                .compress_all(&mut &input[..])
                .unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(&back, input);
            // Deterministic: the same input gives the same bytes (and digest), on one thread
            // or on several.
            let thread_counts: &[usize] = if input.len() == mixed.len() {
                &[1, 3]
            } else {
                &[]
            };
            for &threads in thread_counts {
                let mut again = Vec::new();
                AdaptiveGzip::with_threads(&mut again, threads)
                    .compress_all(&mut &input[..])
                    .unwrap();
                assert_eq!(out, again, "{threads} threads");
            }
        }
        let size = |input: &[u8]| {
            let mut out = Vec::new();
            AdaptiveGzip::new(&mut out)
                .compress_all(&mut &input[..])
                .unwrap();
            out.len()
        };
        assert!(
            size(&noise) < noise.len() + noise.len() / 1000,
            "stored, barely larger"
        );
        assert!(size(&text) < text.len() / 20, "deflated");
        assert!(incompressible(&noise[..BLOCK]));
        assert!(!incompressible(&text[..BLOCK]));
    }

    #[test]
    fn zstd_gives_the_same_bytes_on_any_number_of_workers() {
        // Several of libzstd's jobs (a job is a few MiB at level 3), text and noise mixed.
        let mut rng = fastrand::Rng::with_seed(11);
        let mut input = Vec::new();
        while input.len() < 24 * 1024 * 1024 {
            input.extend("a line of a config file, repeated with a number: ".bytes());
            input.extend(rng.u32(..).to_string().bytes());
            input.extend((0..8).map(|_| rng.u8(..)));
        }
        let compress = |workers: usize| {
            let mut out = Vec::new();
            zstd_on_every_core(&mut &input[..], &mut out, workers).unwrap();
            out
        };
        let one = compress(1);
        assert_eq!(zstd::decode_all(&one[..]).unwrap(), input);
        assert!(one.len() < input.len() / 2);
        assert_eq!(compress(3), one, "3 workers");
        assert_eq!(compress(2), one, "2 workers");
    }

    #[tokio::test]
    async fn a_layer_that_does_not_match_its_diff_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer.tar");
        std::fs::write(&path, b"not what the config says").unwrap();
        let layer = SourceLayer {
            file: BlobFile::whole(path, 24),
            diff_id: Digest::of_bytes(b"something else"),
            descriptor: None,
        };
        let err = prepare_layers(vec![layer], &options(dir.path(), Compression::Gzip))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the archive is damaged"), "{err}");
    }
}
