//! Runs one property over generated inputs with a seeded proptest runner, turning a panic of the
//! code under test into a failure that names where it panicked, and shrinking a failing input to
//! a small one before it is reported.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};

/// The result of one run of one target.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Inputs the property was checked on, shrinking steps included.
    pub cases: u64,
    pub failure: Option<Failure>,
}

/// A property that did not hold, with the seed that reproduces it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: u64,
    /// What went wrong on the smallest failing input found, with that input.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}: {}", self.seed, self.message)
    }
}

thread_local! {
    /// Set while the code under test runs: its panics are recorded here instead of printed.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that records the message and place of a panic on a
/// thread that is running code under test, and leaves every other panic to the previous hook.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let place = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "an unknown place".to_owned());
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-text panic payload".to_owned());
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("{message} at {place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `call` (the code under test); a panic becomes `Err` with its message and place.
pub fn no_panic<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    CAPTURING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(call));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|_| {
        let what = LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| "a panic".to_owned());
        format!("panicked: {what}")
    })
}

/// Checks `property` on `cases` inputs drawn from `strategy` by a runner seeded with `seed`.
/// `property` returns `Err(description)` when the property does not hold.
pub fn check<S>(
    seed: u64,
    cases: u32,
    strategy: S,
    property: impl Fn(&S::Value) -> Result<(), String>,
) -> Outcome
where
    S: Strategy,
{
    install_panic_hook();
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        // Failures are reported with their seed; nothing is written next to the sources.
        failure_persistence: None,
        // Enough to make most inputs small; a bound, so a slow property cannot shrink forever.
        max_shrink_iters: 400,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let checked = Cell::new(0u64);
    let result = runner.run(&strategy, |input| {
        checked.set(checked.get() + 1);
        property(&input).map_err(TestCaseError::fail)
    });
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, _)) => Some(Failure {
            seed,
            message: reason.to_string(),
        }),
        Err(TestError::Abort(reason)) => Some(Failure {
            seed,
            message: format!("the runner gave up: {reason}"),
        }),
    };
    Outcome {
        cases: checked.get(),
        failure,
    }
}

/// At most `limit` bytes of `input` as text, for a failure report.
pub fn excerpt(input: &[u8], limit: usize) -> String {
    let shown = String::from_utf8_lossy(&input[..input.len().min(limit)]).into_owned();
    if input.len() > limit {
        format!("{shown}… ({} bytes in all)", input.len())
    } else {
        shown
    }
}

/// A failure description with the input it was found on.
pub fn with_input(problem: impl fmt::Display, input: &[u8]) -> String {
    format!(
        "{problem}\n--- input ---\n{}\n--- end ---",
        excerpt(input, 4000)
    )
}
