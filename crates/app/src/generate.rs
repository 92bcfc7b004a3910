//! Synthetic estates for trying Bridle at scale and for the benchmark (`bridle gen`).

use bridle_core::synthetic::{self, Scale};

use crate::error::{ApiError, ErrorCode, api_error};

/// Writes the synthetic estate of `scale` for `seed` as canonical estate/v1 JSON: the same
/// arguments always give the same bytes. Needs no database.
pub fn write_synthetic_estate<W: std::io::Write>(
    scale: Scale,
    seed: u64,
    out: W,
) -> Result<(), ApiError> {
    let estate = synthetic::generate(scale, seed);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    bridle_core::estate::write_canonical(&estate, &mut out)
        .and_then(|()| std::io::Write::flush(&mut out))
        .map_err(|e| api_error(ErrorCode::Internal, format!("writing the estate: {e}")))
}
