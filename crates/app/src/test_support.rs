//! What the app's unit tests share: a fresh database, the demo estate in it, a generated estate
//! beside it, and the actor they record as.

use bridle_core::estate::Syntax;
use bridle_core::synthetic::{self, Scale};
use bridle_core::time::Timestamp;
use bridle_store::Actor;

use crate::{Bridle, PreparedImport};

pub(crate) fn actor() -> Actor {
    Actor {
        user: "test".into(),
        host: "test".into(),
    }
}

/// An empty inventory in a temporary directory (kept alive by the returned guard).
pub(crate) async fn empty() -> (tempfile::TempDir, Bridle) {
    let dir = tempfile::tempdir().unwrap();
    let bridle = Bridle::open(&dir.path().join("t.db"), &dir.path().join("audit.key"))
        .await
        .unwrap();
    (dir, bridle)
}

/// Imports the demo estate as its usual source at `at`.
pub(crate) async fn import_demo(bridle: &Bridle, at: Timestamp) {
    let demo = PreparedImport::from_bytes("demo".into(), crate::DEMO_ESTATE, Syntax::Json);
    bridle
        .import(demo, crate::DEMO_SOURCE, at, &actor())
        .await
        .unwrap();
}

/// Imports the small generated estate of `seed` as the source `gen`.
pub(crate) async fn import_generated(bridle: &Bridle, seed: u64) {
    let mut generated = Vec::new();
    bridle_core::estate::write_canonical(&synthetic::generate(Scale::Small, seed), &mut generated)
        .unwrap();
    let generated = PreparedImport::from_bytes("gen".into(), &generated, Syntax::Json);
    bridle
        .import(generated, "gen", crate::now(), &actor())
        .await
        .unwrap();
}

/// The demo inventory, imported now.
pub(crate) async fn with_demo() -> (tempfile::TempDir, Bridle) {
    let (dir, bridle) = empty().await;
    import_demo(&bridle, crate::now()).await;
    (dir, bridle)
}
