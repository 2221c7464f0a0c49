//! Reader for the IDX format used by MNIST and Fashion-MNIST, optionally gzipped.
//!
//! The header is checked before any allocation: the magic number, the element type (only
//! unsigned bytes are supported), the rank, and that the declared size is both bounded and
//! exactly what the file holds.

use std::io::Read;

use crate::error::LabError;

/// Refuse any IDX payload larger than this (the full MNIST training images are 47 MB).
pub const MAX_IDX_BYTES: usize = 512 * 1024 * 1024;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// Row-major data.
    pub data: Vec<u8>,
}

/// Decodes IDX bytes (gzipped or raw, detected from the gzip magic). `name` is used in errors.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<IdxArray, LabError> {
    let raw;
    let body: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // Bound the decompressed size too: a small gzip bomb must not exhaust memory.
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_IDX_BYTES as u64 + 1024)
            .read_to_end(&mut out)
            .map_err(|e| LabError::data(name, format!("not a valid gzip stream: {e}")))?;
        raw = out;
        &raw
    } else {
        bytes
    };
    if body.len() < 4 {
        return Err(LabError::data(
            name,
            format!("file is {} bytes, too short for an IDX header", body.len()),
        ));
    }
    if body[0] != 0 || body[1] != 0 {
        return Err(LabError::data(
            name,
            format!(
                "bad magic number {:02x}{:02x}{:02x}{:02x}: an IDX file starts with two zero bytes",
                body[0], body[1], body[2], body[3]
            ),
        ));
    }
    if body[2] != 0x08 {
        return Err(LabError::data(
            name,
            format!(
                "element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                body[2]
            ),
        ));
    }
    let rank = body[3] as usize;
    if rank == 0 || rank > 4 {
        return Err(LabError::data(
            name,
            format!("rank {rank} is not supported (1 to 4)"),
        ));
    }
    let header_len = 4 + 4 * rank;
    if body.len() < header_len {
        return Err(LabError::data(
            name,
            "file ends inside the IDX header".to_string(),
        ));
    }
    let mut dims = Vec::with_capacity(rank);
    let mut total: usize = 1;
    for d in 0..rank {
        let o = 4 + 4 * d;
        let n = u32::from_be_bytes([body[o], body[o + 1], body[o + 2], body[o + 3]]) as usize;
        total = total
            .checked_mul(n)
            .filter(|&t| t <= MAX_IDX_BYTES)
            .ok_or_else(|| {
                LabError::data(name, format!("declared size exceeds {MAX_IDX_BYTES} bytes"))
            })?;
        dims.push(n);
    }
    let payload = &body[header_len..];
    if payload.len() != total {
        return Err(LabError::data(
            name,
            format!(
                "header declares dims {dims:?} = {total} bytes but the file holds {} bytes of data",
                payload.len()
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: payload.to_vec(),
    })
}

/// Reads and decodes an IDX file from disk.
pub fn read_idx(path: &std::path::Path) -> Result<IdxArray, LabError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LabError::data(&name, e.to_string()))?;
    parse_idx(&bytes, &name)
}

/// Encodes an array as raw (uncompressed) IDX bytes; used by tests and export tools.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips_raw_and_gzipped() {
        let data: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8).collect();
        let raw = encode_idx(&[2, 3, 3], &data);
        let a = parse_idx(&raw, "t").expect("raw parses");
        assert_eq!(a.dims, vec![2, 3, 3]);
        assert_eq!(a.data, data);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).expect("write");
        let gz = gz.finish().expect("finish");
        assert_eq!(parse_idx(&gz, "t").expect("gz parses"), a);
    }

    #[test]
    fn rejects_corrupt_files_with_clear_messages() {
        let good = encode_idx(&[2, 2], &[1, 2, 3, 4]);
        let err = |b: &[u8]| parse_idx(b, "f.idx").expect_err("must fail").to_string();

        assert!(err(&good[..3]).contains("too short"));
        let mut bad_magic = good.clone();
        bad_magic[0] = 7;
        assert!(err(&bad_magic).contains("magic"));
        let mut float_type = good.clone();
        float_type[2] = 0x0d;
        assert!(err(&float_type).contains("element type"));
        let mut truncated = good.clone();
        truncated.pop();
        let msg = err(&truncated);
        assert!(msg.contains("f.idx") && msg.contains("3 bytes"), "{msg}");
        // A header declaring an absurd size is refused before any allocation.
        let huge = encode_idx(&[65535, 65535, 65535], &[]);
        assert!(err(&huge).contains("exceeds"));
        assert!(err(&[0x1f, 0x8b, 0, 1, 2]).contains("gzip"));
    }
}
