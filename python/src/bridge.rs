//! The two Arrow versions at the edge: the library builds its tables with its own arrow-rs, and
//! pyo3-arrow speaks to Python with the arrow-rs it was released against. Batches cross between
//! them through the Arrow C data interface (the ABI both implement, the one Python uses too),
//! so no value is rebuilt. Rows going in are written as JSON records, the library's input format.

use arrow_array::{RecordBatch, StructArray};
use arrow_array_59 as a59;
use arrow_schema::SchemaRef;

/// The library's record batches (and their schema, for an empty table) in pyo3-arrow's arrow.
pub fn to_pyo3_arrow(
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
) -> Result<(Vec<a59::RecordBatch>, arrow_schema_59::SchemaRef), String> {
    let batches = batches.into_iter().map(convert).collect::<Result<Vec<_>, _>>()?;
    let schema = convert(RecordBatch::new_empty(schema))?.schema();
    Ok((batches, schema))
}

fn convert(batch: RecordBatch) -> Result<a59::RecordBatch, String> {
    let data = arrow_array::Array::into_data(StructArray::from(batch));
    let (array, schema) = arrow_array::ffi::to_ffi(&data).map_err(|e| e.to_string())?;
    // SAFETY: `FFI_ArrowArray` and `FFI_ArrowSchema` are `#[repr(C)]` renderings of the Arrow C
    // data interface's `ArrowArray` and `ArrowSchema` structs in both versions (transmute checks
    // the sizes); the values move, so each release callback runs exactly once.
    let array: a59::ffi::FFI_ArrowArray = unsafe { std::mem::transmute(array) };
    let schema: a59::ffi::FFI_ArrowSchema = unsafe { std::mem::transmute(schema) };
    // SAFETY: both come from `to_ffi` just above: a valid array and its matching schema.
    let data = unsafe { a59::ffi::from_ffi(array, &schema) }.map_err(|e| e.to_string())?;
    Ok(a59::RecordBatch::from(a59::StructArray::from(data)))
}

/// Each row of `batch` as one JSON object (null values left out, as a JSONL line would omit
/// them), in row order.
pub fn json_records(batch: &a59::RecordBatch) -> Result<Vec<String>, String> {
    let mut writer = arrow_json_59::LineDelimitedWriter::new(Vec::new());
    writer.write(batch).map_err(|e| format!("the table's rows cannot be read as records: {e}"))?;
    writer.finish().map_err(|e| e.to_string())?;
    let text = String::from_utf8(writer.into_inner())
        .map_err(|e| format!("the table's rows are not UTF-8 text: {e}"))?;
    // JSON escapes newlines inside strings: every line is one row
    let rows: Vec<String> = text.lines().map(str::to_string).collect();
    if rows.len() != batch.num_rows() {
        return Err(format!("{} rows became {} records", batch.num_rows(), rows.len()));
    }
    Ok(rows)
}
