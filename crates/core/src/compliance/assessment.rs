//! The one assessment rulebook: how findings, accepted risks and attestations become the status
//! of a control and of a framework item. The PDF, OSCAL, `bridle coverage`, `bridle check` and the
//! console all take their statuses and tallies from here, and the evidence pack's Method appendix
//! prints [`RULES`], so what a reviewer reads is what the code does.

use super::checks::{Severity, Status};

/// The status of a control or of a framework item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Met,
    PartlyMet,
    NotMet,
    /// Failing, with every failure covered by an accepted, unexpired risk: not met, and an
    /// accepted exception says so. Never "met".
    ExceptionAccepted,
    /// In scope, with no finding or attestation that decides it (data missing).
    NotAssessed,
    /// A framework item Bridle, an identity-and-access tool, can never assess (with a reason).
    OutOfScope,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 6] = [
        ItemStatus::Met,
        ItemStatus::PartlyMet,
        ItemStatus::NotMet,
        ItemStatus::ExceptionAccepted,
        ItemStatus::NotAssessed,
        ItemStatus::OutOfScope,
    ];

    /// As a reader sees it.
    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::Met => "met",
            ItemStatus::PartlyMet => "partly met",
            ItemStatus::NotMet => "not met",
            ItemStatus::ExceptionAccepted => "not met — exception accepted",
            ItemStatus::NotAssessed => "not assessed",
            ItemStatus::OutOfScope => "out of scope",
        }
    }

    /// As machines read it (JSON, CSV, the console's API).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Met => "met",
            ItemStatus::PartlyMet => "partly_met",
            ItemStatus::NotMet => "not_met",
            ItemStatus::ExceptionAccepted => "exception_accepted",
            ItemStatus::NotAssessed => "not_assessed",
            ItemStatus::OutOfScope => "out_of_scope",
        }
    }

    pub fn parse(word: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

/// A failing control is "partly met" only when every failure is at most this severity …
pub const PARTLY_MET_WORST_FAILURE: Severity = Severity::Medium;
/// … and failures are at most this share (in percent) of the decided findings.
pub const PARTLY_MET_FAILURE_SHARE_PERCENT: u32 = 25;

/// The findings of one control (or one framework item, or a whole run), counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub pass: u32,
    /// Failures not covered by an accepted risk.
    pub fail: u32,
    pub unknown: u32,
    /// Failures covered by an accepted, unexpired risk.
    pub accepted: u32,
    /// The worst severity among `fail`.
    pub worst_failure: Option<Severity>,
}

impl Tally {
    /// Counts one finding; `accepted` says an accepted, unexpired risk covers it (only a failure
    /// can be accepted).
    pub fn add(&mut self, status: Status, severity: Severity, accepted: bool) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Unknown => self.unknown += 1,
            Status::Fail if accepted => self.accepted += 1,
            Status::Fail => {
                self.fail += 1;
                self.worst_failure = self.worst_failure.max(Some(severity));
            }
        }
    }

    pub fn total(&self) -> u32 {
        self.pass + self.fail + self.unknown + self.accepted
    }

    /// `3 pass, 1 fail, 0 unknown, 2 accepted`: printed beside every status.
    pub fn counts(&self) -> String {
        format!(
            "{} pass, {} fail, {} unknown, {} accepted",
            self.pass, self.fail, self.unknown, self.accepted
        )
    }
}

/// A control's status. `automated`: it has checks; `attested`: a manual attestation valid at
/// the evaluation time is recorded for it.
pub fn control_status(automated: bool, tally: &Tally, attested: bool) -> ItemStatus {
    if !automated {
        return if attested {
            ItemStatus::Met
        } else {
            ItemStatus::NotAssessed
        };
    }
    // An attestation never overrides an automated finding (nor its absence).
    let decided = tally.pass + tally.fail + tally.accepted;
    if tally.fail > 0 {
        let mild = tally.worst_failure <= Some(PARTLY_MET_WORST_FAILURE);
        let small = tally.fail * 100 <= PARTLY_MET_FAILURE_SHARE_PERCENT * decided;
        return if tally.pass > 0 && mild && small {
            ItemStatus::PartlyMet
        } else {
            ItemStatus::NotMet
        };
    }
    if tally.accepted > 0 {
        return ItemStatus::ExceptionAccepted;
    }
    match (tally.pass, tally.unknown) {
        (0, _) => ItemStatus::NotAssessed,
        (_, 0) => ItemStatus::Met,
        _ => ItemStatus::PartlyMet,
    }
}

/// A framework item's status from its controls' statuses. An item without controls is assessed
/// by an attestation recorded for the item itself (`attested`).
pub fn item_status(controls: &[ItemStatus], attested: bool) -> ItemStatus {
    use ItemStatus::*;
    if controls.is_empty() {
        return if attested { Met } else { NotAssessed };
    }
    let all = |allowed: &[ItemStatus]| controls.iter().all(|s| allowed.contains(s));
    let any = |wanted: ItemStatus| controls.contains(&wanted);
    if all(&[Met]) {
        Met
    } else if all(&[NotAssessed]) {
        NotAssessed
    } else if all(&[Met, ExceptionAccepted]) {
        ExceptionAccepted
    } else if any(NotMet) && !any(Met) && !any(PartlyMet) {
        NotMet
    } else {
        PartlyMet
    }
}

/// The rules above in words, for the evidence pack's Method appendix.
pub const RULES: [&str; 8] = [
    "Findings come from the automated checks run over the snapshot at the evaluation time: pass, fail, or unknown when the data needed is missing (never pass).",
    "A failing finding covered by a risk of the register that was accepted, and not expired, at the evaluation time counts as accepted. Accepted failures never make a control met: a control whose only failures are accepted is \"not met — exception accepted\", and the pack prints each acceptance (who, when, why, until when, the findings it covers).",
    "An automated control with unaccepted failures is partly met only when some of its findings pass, no failure is worse than medium severity and failures are at most 25% of its decided findings (pass, fail, accepted); otherwise it is not met.",
    "An automated control with no failure is met when all its findings pass, partly met when some pass and others are unknown, and not assessed (data missing) when none passes — whatever is attested: an attestation never overrides an automated finding or its absence.",
    "A control without automated checks is met by a manual attestation recorded for it (or for its subcategory) at or before the evaluation time and not expired then, and not assessed otherwise.",
    "A framework item is met when all its mapped controls are met, not assessed when none is assessed, \"not met — exception accepted\" when every control is met or excepted, not met when no control is met or partly met and one is not met, and partly met otherwise. An item without a mapped control is assessed by an attestation of the item, if it is in scope.",
    "Out of scope: a NIST AI RMF subcategory that an identity-and-access tool can never assess, each with its reason; \"not assessed\" always means in scope with no data yet.",
    "The crosswalk from Bridle's controls to the frameworks is Bridle's own judgement, with a rationale per mapping; it is not an official mapping of NIST, OWASP or CSA.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use ItemStatus::*;

    fn tally(pass: u32, fail: u32, unknown: u32, accepted: u32, worst: Option<Severity>) -> Tally {
        Tally {
            pass,
            fail,
            unknown,
            accepted,
            worst_failure: worst,
        }
    }

    #[test]
    fn accepted_failures_are_an_exception_never_met() {
        assert_eq!(
            control_status(true, &tally(5, 0, 0, 2, None), false),
            ExceptionAccepted
        );
        assert_eq!(
            control_status(true, &tally(0, 0, 0, 1, None), true),
            ExceptionAccepted
        );
        assert_eq!(
            item_status(&[Met, ExceptionAccepted], false),
            ExceptionAccepted
        );
        assert_eq!(item_status(&[Met, Met], false), Met);
    }

    #[test]
    fn an_attestation_never_overrides_an_automated_control() {
        assert_eq!(
            control_status(true, &tally(0, 0, 4, 0, None), true),
            NotAssessed
        );
        assert_eq!(
            control_status(true, &tally(0, 0, 0, 0, None), true),
            NotAssessed
        );
        assert_eq!(
            control_status(true, &tally(0, 1, 0, 0, Some(Severity::Low)), true),
            NotMet
        );
        assert_eq!(control_status(false, &Tally::default(), true), Met);
        assert_eq!(control_status(false, &Tally::default(), false), NotAssessed);
    }

    #[test]
    fn partly_met_is_a_stated_rule() {
        // One pass among a hundred failures is not met.
        assert_eq!(
            control_status(true, &tally(1, 100, 0, 0, Some(Severity::Low)), false),
            NotMet
        );
        // A high-severity failure is never partly met.
        assert_eq!(
            control_status(true, &tally(30, 1, 0, 0, Some(Severity::High)), false),
            NotMet
        );
        // Few, mild failures among passes are.
        assert_eq!(
            control_status(true, &tally(30, 1, 0, 0, Some(Severity::Medium)), false),
            PartlyMet
        );
        assert_eq!(
            control_status(true, &tally(3, 1, 0, 0, Some(Severity::Low)), false),
            PartlyMet
        );
        assert_eq!(
            control_status(true, &tally(2, 1, 0, 0, Some(Severity::Low)), false),
            NotMet
        );
        // Passes with unknowns: partly met; all pass: met.
        assert_eq!(
            control_status(true, &tally(2, 0, 1, 0, None), false),
            PartlyMet
        );
        assert_eq!(control_status(true, &tally(2, 0, 0, 0, None), false), Met);
    }

    #[test]
    fn items_combine_their_controls() {
        assert_eq!(item_status(&[], true), Met);
        assert_eq!(item_status(&[], false), NotAssessed);
        assert_eq!(item_status(&[NotAssessed, NotAssessed], false), NotAssessed);
        assert_eq!(item_status(&[NotMet, NotAssessed], false), NotMet);
        assert_eq!(item_status(&[NotMet, Met], false), PartlyMet);
        assert_eq!(item_status(&[Met, NotAssessed], false), PartlyMet);
        assert_eq!(item_status(&[ExceptionAccepted, NotMet], false), NotMet);
    }

    #[test]
    fn the_tally_counts_each_finding_once() {
        let mut t = Tally::default();
        t.add(Status::Pass, Severity::High, false);
        t.add(Status::Fail, Severity::Low, true);
        t.add(Status::Fail, Severity::High, false);
        t.add(Status::Unknown, Severity::High, false);
        assert_eq!(t, tally(1, 1, 1, 1, Some(Severity::High)));
        assert_eq!(t.total(), 4);
        assert_eq!(t.counts(), "1 pass, 1 fail, 1 unknown, 1 accepted");
        for s in ItemStatus::ALL {
            assert_eq!(ItemStatus::parse(s.as_str()), Some(s));
        }
    }
}
