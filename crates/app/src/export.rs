//! Exports for other tools: the privilege graph as BloodHound OpenGraph JSON.

use bridle_core::graph::PrivilegeGraph;
use bridle_core::time::Timestamp;
use bridle_evidence::opengraph;

use crate::Bridle;
use crate::error::{ApiError, ErrorCode, api_error};

/// How many nodes and edges an OpenGraph export wrote.
pub use bridle_evidence::opengraph::Written as OpenGraphWritten;

impl Bridle {
    /// Writes the privilege graph at `at` of the current inventory (or of the inventory right
    /// after `snapshot`) as BloodHound OpenGraph JSON.
    pub async fn write_opengraph<W: std::io::Write>(
        &self,
        snapshot: Option<i64>,
        at: Timestamp,
        out: W,
    ) -> Result<OpenGraphWritten, ApiError> {
        let estate = self.estate(snapshot).await?;
        let graph = PrivilegeGraph::build(&estate, at);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        opengraph::write_opengraph(&estate, &graph, &mut out)
            .and_then(|written| std::io::Write::flush(&mut out).map(|()| written))
            .map_err(|e| api_error(ErrorCode::Internal, format!("writing the OpenGraph: {e}")))
    }
}
