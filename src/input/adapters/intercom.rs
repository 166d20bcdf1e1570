//! PLACEHOLDER — being written (issue 18).

use serde_json::Value;

use super::{Adapted, Format, WrongFormat};
use crate::conversation::Origin;

pub fn adapt(unit: &Value, origin: &Origin, _out: &mut Adapted) -> Result<(), WrongFormat> {
    Err(WrongFormat {
        origin: origin.to_string(),
        format: Format::Intercom,
        found: format!("not yet supported ({})", super::kind_of(unit)),
    })
}
