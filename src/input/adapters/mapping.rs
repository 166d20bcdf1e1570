//! PLACEHOLDER — being written (issue 18): the `json --mapping FILE.toml` adapter.

use serde_json::Value;

use super::{Adapted, Format, WrongFormat};
use crate::conversation::Origin;

/// A declarative mapping of another tool's JSON export.
#[derive(Debug)]
pub struct Mapping {}

impl Mapping {
    pub fn adapt(
        &self,
        unit: &Value,
        origin: &Origin,
        _out: &mut Adapted,
    ) -> Result<(), WrongFormat> {
        Err(WrongFormat {
            origin: origin.to_string(),
            format: Format::Json,
            found: format!("not yet supported ({})", super::kind_of(unit)),
        })
    }
}
