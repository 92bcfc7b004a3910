//! Long fuzz runs: `bridle-fuzz --minutes N [--target NAME] [--seed S] [--batch CASES]` runs each
//! target (or one) for N minutes in batches of fresh seeds and prints, per target, the cases
//! checked and every failure with the seed that reproduces it. Without `--minutes` it runs one
//! batch per target with `--seed` (default 1): the way to replay a reported failure.
//! `cargo xtask fuzz` builds this in release mode and runs it.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bridle_fuzz::{Target, next_seed};

/// Distinct failures kept per target; a long run goes on after one, with the next seed.
const FAILURES_KEPT: usize = 5;

struct Options {
    minutes: Option<f64>,
    targets: Vec<Target>,
    seed: Option<u64>,
    /// Cases per batch; each target's own size when not given.
    batch: Option<u32>,
}

fn usage() -> String {
    let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
    format!(
        "usage: bridle-fuzz [--minutes N] [--target NAME] [--seed S] [--batch CASES]\n  targets: {}",
        names.join(", ")
    )
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        minutes: None,
        targets: Target::ALL.to_vec(),
        seed: None,
        batch: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs {what}\n{}", usage()))
        };
        match arg.as_str() {
            "--minutes" => {
                let minutes: f64 = value("a number of minutes")?
                    .parse()
                    .map_err(|_| format!("--minutes takes a number\n{}", usage()))?;
                if !minutes.is_finite() || minutes <= 0.0 {
                    return Err("--minutes must be positive".to_owned());
                }
                options.minutes = Some(minutes);
            }
            "--target" => {
                let name = value("a target name")?;
                let target = Target::parse(&name)
                    .ok_or_else(|| format!("unknown target `{name}`\n{}", usage()))?;
                options.targets = vec![target];
            }
            "--seed" => {
                options.seed = Some(
                    value("a seed")?
                        .parse()
                        .map_err(|_| "--seed takes an unsigned integer".to_owned())?,
                );
            }
            "--batch" => {
                options.batch = Some(
                    value("a number of cases")?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| "--batch takes a positive number".to_owned())?,
                );
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument `{other}`\n{}", usage())),
        }
    }
    Ok(options)
}

/// Runs one target until `budget` has passed (at least one batch); returns its failure count.
fn run_target(target: Target, options: &Options, state: &mut u64) -> usize {
    let started = Instant::now();
    let budget = options
        .minutes
        .map(|m| Duration::from_secs_f64(m * 60.0))
        .unwrap_or_default();
    let (mut cases, mut batches, mut failures) = (0u64, 0u64, Vec::new());
    loop {
        let seed = match (options.minutes, options.seed) {
            // A replay runs exactly the seed it was given.
            (None, Some(seed)) => seed,
            (None, None) => 1,
            (Some(_), _) => next_seed(state),
        };
        let outcome = target.run(seed, options.batch.unwrap_or(target.batch()));
        cases += outcome.cases;
        batches += 1;
        if let Some(failure) = outcome.failure {
            eprintln!(
                "{}: FAILED with seed {seed}:\n{}\n",
                target.name(),
                failure.message
            );
            failures.push(seed);
        }
        if options.minutes.is_none()
            || started.elapsed() >= budget
            || failures.len() >= FAILURES_KEPT
        {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{:<12} {cases:>9} cases in {batches:>4} batches, {elapsed:>6.1} s ({:>7.0} cases/s), {}",
        target.name(),
        cases as f64 / elapsed.max(1e-9),
        if failures.is_empty() {
            "no failure".to_owned()
        } else {
            format!(
                "{} failure(s), seeds {}",
                failures.len(),
                failures
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    failures.len()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut state = options.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    if options.minutes.is_some() {
        println!(
            "bridle-fuzz: seed state {state}, {} minute(s) per target",
            options.minutes.unwrap_or_default()
        );
    }
    let failed: usize = options
        .targets
        .iter()
        .map(|&target| run_target(target, &options, &mut state))
        .sum();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("bridle-fuzz: {failed} failure(s); replay one with --target NAME --seed SEED");
        ExitCode::FAILURE
    }
}
