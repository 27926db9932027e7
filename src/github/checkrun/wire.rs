//! The Checks API's request and response bodies, and a finding as an annotation within
//! the API's limits.

use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};
use serde::{Deserialize, Serialize};

use crate::checks::findings::{Finding, Severity};
use crate::escape::{shown, terminal};
use crate::github::api::truncate;

/// The check run's name (and the `check_name` of the lookup).
pub const NAME: &str = "plugin-lock";
/// `output.summary` and `output.text` limit (characters; we count bytes, which is stricter).
pub const MAX_SUMMARY: usize = 65535;
/// An annotation's `message` and `raw_details` limit (64 KB).
pub const MAX_MESSAGE: usize = 64 * 1024 - 1;
/// An annotation's `title` limit.
pub const MAX_TITLE: usize = 255;

/// The title and summary every request carries (a run left in progress still has them).
pub(crate) struct Output {
    pub(crate) title: String,
    pub(crate) summary: String,
}

impl Output {
    pub(crate) fn with(&self, batch: &[Annotation]) -> CheckRunOutput {
        CheckRunOutput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            text: None,
            annotations: batch.iter().map(Annotation::to_param).collect(),
            images: Vec::new(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct CreateBody<'a> {
    pub(crate) name: &'a str,
    pub(crate) head_sha: &'a str,
    pub(crate) external_id: &'a str,
    pub(crate) status: CheckRunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conclusion: Option<CheckRunConclusion>,
    pub(crate) output: CheckRunOutput,
}

#[derive(Serialize)]
pub(crate) struct UpdateBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<CheckRunStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) conclusion: Option<CheckRunConclusion>,
    pub(crate) output: CheckRunOutput,
}

#[derive(Serialize)]
pub(crate) struct LookupQuery<'a> {
    pub(crate) check_name: &'a str,
    pub(crate) filter: &'a str,
    pub(crate) per_page: u8,
}

/// The fields of a check run we read; the rest of GitHub's answer is ignored, so a
/// sparse or newer response still parses.
#[derive(Debug, Deserialize)]
pub(crate) struct RunRef {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) external_id: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
    #[serde(default)]
    pub(crate) output: Option<RunOutputRef>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunOutputRef {
    #[serde(default)]
    pub(crate) annotations_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunList {
    #[serde(default)]
    pub(crate) check_runs: Vec<RunRef>,
}

/// One finding as an annotation (owned, so batches can be built repeatedly).
pub(crate) struct Annotation {
    pub(crate) path: String,
    pub(crate) line: u32,
    pub(crate) column: Option<u32>,
    pub(crate) level: Severity,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) raw_details: Option<String>,
}

impl Annotation {
    pub(crate) fn from_finding(f: &Finding) -> Annotation {
        // Shown as on a terminal (capped, control characters escaped): GitHub displays
        // these as text, and a 50 MB value would not fit the API's limits anyway.
        let title = match &f.plugin {
            Some(id) => format!("{} ({})", f.kind.as_str(), shown(id)),
            None => f.kind.as_str().to_owned(),
        };
        let details: Vec<String> = f
            .notes
            .iter()
            .map(|(label, value)| format!("{label}: {}", shown(value)))
            .collect();
        Annotation {
            path: f.path.clone(),
            line: f.line.max(1),
            column: f.column,
            level: f.severity,
            title: truncate(&title, MAX_TITLE),
            message: truncate(&terminal(&crate::report::message(f)), MAX_MESSAGE),
            raw_details: (!details.is_empty()).then(|| truncate(&details.join("\n"), MAX_MESSAGE)),
        }
    }

    pub(crate) fn to_param(&self) -> CheckRunOutputAnnotation {
        CheckRunOutputAnnotation {
            path: self.path.clone(),
            start_line: self.line,
            end_line: self.line,
            start_column: self.column,
            end_column: self.column,
            annotation_level: match self.level {
                Severity::Error => CheckRunOutputAnnotationLevel::Failure,
                Severity::Warning => CheckRunOutputAnnotationLevel::Warning,
            },
            message: self.message.clone(),
            title: Some(self.title.clone()),
            raw_details: self.raw_details.clone(),
        }
    }
}
