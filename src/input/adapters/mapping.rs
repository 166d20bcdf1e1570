//! PLACEHOLDER — being written (issue 18): the `json --mapping FILE.toml` adapter.

use serde_json::Value;

use super::{Adapted, Format, WrongFormat};
use crate::conversation::Origin;

/// A declarative mapping of another tool's JSON export.
#[derive(Debug)]
pub struct Mapping {}

/// A mapping file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(String);

impl Mapping {
    pub fn load(path: &std::path::Path) -> Result<Mapping, MappingError> {
        Err(MappingError(format!("{}: mappings are not supported yet", path.display())))
    }

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
