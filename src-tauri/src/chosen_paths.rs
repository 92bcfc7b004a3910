//! The webview never decides on its own which file Bridle reads or writes: the open and save
//! dialogs are opened here, in Rust, and the paths the person picked are remembered for the
//! one command that uses them. A path that did not come from a dialog (typed into the
//! console) is shown to the person in a native confirmation first. So a page that was made to
//! call `import_file` or `export_evidence` with a path of its choosing gets a question on the
//! screen, not a file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bridle_protocol::{ApiError, ErrorCode};
use tauri::AppHandle;
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

/// The answer the end-to-end tests give a native confirmation, which WebDriver cannot click:
/// debug builds honour `BRIDLE_TEST_DIALOG_ANSWER=yes|no` (as they honour `BRIDLE_TEST_CLOCK`);
/// release builds always ask the person.
pub fn test_answer() -> Option<bool> {
    #[cfg(debug_assertions)]
    if let Ok(answer) = std::env::var("BRIDLE_TEST_DIALOG_ANSWER") {
        tracing::warn!(%answer, "BRIDLE_TEST_DIALOG_ANSWER answers the confirmation");
        return Some(answer == "yes");
    }
    None
}

/// Asks `question` in a native OK/Cancel dialog on a blocking thread; whether the person agreed.
pub async fn confirm(app: &AppHandle, title: &str, question: String, ok: &str) -> bool {
    if let Some(answer) = test_answer() {
        return answer;
    }
    let app = app.clone();
    let (title, ok) = (title.to_owned(), ok.to_owned());
    tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .message(question)
            .title(title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(ok, "Cancel".into()))
            .blocking_show()
    })
    .await
    .unwrap_or(false)
}

/// What a chosen path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// An estate file to import.
    ReadEstate,
    /// Where the evidence pack (and its sidecars) goes.
    WriteEvidence,
}

impl Purpose {
    fn question(self, path: &Path) -> String {
        match self {
            Purpose::ReadEstate => format!(
                "Import the estate file\n\n{}\n\ninto the inventory?",
                path.display()
            ),
            Purpose::WriteEvidence => format!(
                "Write the evidence pack to\n\n{}\n\n(and its .sha256 and .json sidecars beside it)? An existing file there is replaced.",
                path.display()
            ),
        }
    }
}

/// The paths picked in a dialog and not used yet.
#[derive(Debug, Default)]
pub struct ChosenPaths {
    chosen: Mutex<HashSet<(Purpose, PathBuf)>>,
}

impl ChosenPaths {
    fn chosen(&self) -> std::sync::MutexGuard<'_, HashSet<(Purpose, PathBuf)>> {
        self.chosen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers `path`, picked in a dialog for `purpose`.
    pub fn remember(&self, purpose: Purpose, path: PathBuf) {
        self.chosen().insert((purpose, path));
    }

    /// Takes the permission to use `path` for `purpose`: a path picked in a dialog is used once;
    /// any other is asked about in a native dialog (on a blocking thread) and refused unless
    /// the person agrees.
    pub async fn take(
        &self,
        app: &AppHandle,
        purpose: Purpose,
        path: &Path,
    ) -> Result<(), ApiError> {
        if self.chosen().remove(&(purpose, path.to_owned())) {
            return Ok(());
        }
        let agreed = confirm(app, "Confirm the file", purpose.question(path), "Continue").await;
        if agreed {
            Ok(())
        } else {
            Err(ApiError {
                code: ErrorCode::InvalidInput,
                message: format!("{}: not confirmed, nothing was done", path.display()),
            })
        }
    }
}

/// Opens a native dialog on a blocking thread; `None` when the person cancels.
pub async fn pick(app: &AppHandle, purpose: Purpose) -> Result<Option<PathBuf>, ApiError> {
    let app = app.clone();
    let picked = tauri::async_runtime::spawn_blocking(move || {
        let dialog = app.dialog().file();
        match purpose {
            Purpose::ReadEstate => dialog
                .set_title("Choose an estate file")
                .add_filter("Estate files (JSON, YAML)", &["json", "yaml", "yml"])
                .blocking_pick_file(),
            Purpose::WriteEvidence => dialog
                .set_title("Save the evidence pack")
                .set_file_name("evidence-pack.pdf")
                .add_filter("PDF", &["pdf"])
                .blocking_save_file(),
        }
    })
    .await
    .map_err(|e| ApiError {
        code: ErrorCode::Internal,
        message: format!("the file dialog failed: {e}"),
    })?;
    picked
        .map(|path| {
            path.into_path().map_err(|e| ApiError {
                code: ErrorCode::InvalidInput,
                message: format!("the chosen file is not a local path: {e}"),
            })
        })
        .transpose()
}
