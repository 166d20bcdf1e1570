//! `report.html`: one self-contained page (placeholder until the full report lands).

use super::{Report, ReportInput};

pub fn render(_report: &Report, _input: &ReportInput) -> String {
    String::from("<!doctype html><title>convqa report</title>")
}
