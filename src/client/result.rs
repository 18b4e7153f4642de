//! Results of SQL operations: collected Arrow batches, or a streamed summary.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use super::checksum::ResultChecksum;

/// Facts about how an operation ran, kept with its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionInfo {
    /// The operation id sent to the server (usable with `Interrupt`).
    pub operation_id: String,
    /// How many times the response stream was resumed with `ReattachExecute`.
    pub reattaches: u32,
    /// The server-side session id the server reported (Spark 4 only; empty on 3.5).
    pub server_side_session_id: String,
}

/// A fully received SQL result: the schema and every Arrow batch, in order.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The result schema, also when there are no rows. Empty for statements with no output.
    pub schema: SchemaRef,
    /// The result batches in arrival order (may be empty).
    pub batches: Vec<RecordBatch>,
    /// How the operation ran.
    pub info: ExecutionInfo,
}

impl QueryResult {
    /// Total number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Number of columns.
    pub fn num_columns(&self) -> usize {
        self.schema.fields().len()
    }

    /// The column names.
    pub fn column_names(&self) -> Vec<&str> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect()
    }

    /// The result as a boxed text table (arrow-cast's pretty printer), for people to read.
    ///
    /// Timestamps whose time zone is a name (Spark sends the session zone, e.g. `Etc/UTC`)
    /// are shown in UTC with an explicit offset, because named zones need arrow's `chrono-tz`
    /// feature; the instant shown is exact either way. A value that cannot be formatted
    /// yields a one-line note instead of the table.
    pub fn to_pretty_table(&self) -> String {
        displayable(&self.schema, &self.batches)
            .and_then(|(schema, batches)| {
                arrow_cast::pretty::pretty_format_batches_with_schema(schema, &batches)
                    .map(|t| t.to_string())
            })
            .unwrap_or_else(|e| format!("(the result cannot be shown as a table: {e})"))
    }

    /// Every row as display strings (nulls as `NULL`), for tests and small results.
    pub fn rows_as_strings(&self) -> Result<Vec<Vec<String>>, ArrowError> {
        let (_, batches) = displayable(&self.schema, &self.batches)?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::with_capacity(self.num_rows());
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| f.value(row).try_to_string())
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
        Ok(rows)
    }
}

/// A streamed SQL result: no rows kept, only the schema, counts and checksums.
#[derive(Debug, Clone)]
pub struct ResultSummary {
    /// The result schema (empty when the server sent no Arrow batch at all).
    pub schema: SchemaRef,
    /// Row count and checksums (see [`super::checksum`]).
    pub checksum: ResultChecksum,
    /// Number of Arrow record batches received.
    pub batches: u64,
    /// Bytes of Arrow IPC data received.
    pub arrow_bytes: u64,
    /// How the operation ran.
    pub info: ExecutionInfo,
}

impl ResultSummary {
    /// Number of rows.
    pub fn num_rows(&self) -> u64 {
        self.checksum.rows
    }
}

/// Rewrites time zones arrow cannot display without `chrono-tz` to `+00:00` (same instants).
fn displayable(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let needs = |f: &Field| fix_type(f.data_type()).is_some();
    if !schema.fields().iter().any(|f| needs(f)) {
        return Ok((schema.clone(), batches.to_vec()));
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match fix_type(f.data_type()) {
            Some(t) => f.as_ref().clone().with_data_type(t),
            None => f.as_ref().clone(),
        })
        .collect();
    let new_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| match fix_type(c.data_type()) {
                Some(t) => arrow_cast::cast(c.as_ref(), &t),
                None => Ok(c.clone()),
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        out.push(RecordBatch::try_new(new_schema.clone(), columns)?);
    }
    Ok((new_schema, out))
}

/// The displayable replacement of a top-level timestamp type with a named zone.
fn fix_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Timestamp(unit, Some(tz)) if tz.parse::<arrow_array::timezone::Tz>().is_err() => {
            Some(DataType::Timestamp(*unit, Some("+00:00".into())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int32Array, StringArray, TimestampMicrosecondArray};

    use super::*;

    fn info() -> ExecutionInfo {
        ExecutionInfo {
            operation_id: "op".into(),
            reattaches: 0,
            server_side_session_id: String::new(),
        }
    }

    #[test]
    fn pretty_table_and_strings() {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "n",
                Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                "t",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![0, 1_500_000]).with_timezone("Etc/UTC"),
                ),
            ),
            ("s", Arc::new(StringArray::from(vec!["a", "b"]))),
        ])
        .expect("batch");
        let result = QueryResult {
            schema: batch.schema(),
            batches: vec![batch],
            info: info(),
        };
        assert_eq!(result.num_rows(), 2);
        assert_eq!(result.column_names(), ["n", "t", "s"]);
        assert_eq!(
            result.rows_as_strings().expect("strings"),
            vec![
                vec!["1", "1970-01-01T00:00:00Z", "a"],
                vec!["NULL", "1970-01-01T00:00:01.500Z", "b"],
            ]
        );
        let table = result.to_pretty_table();
        assert!(table.contains("| n "), "{table}");
    }

    #[test]
    fn empty_result_keeps_its_header() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let result = QueryResult {
            schema,
            batches: vec![],
            info: info(),
        };
        assert_eq!(result.num_rows(), 0);
        let table = result.to_pretty_table();
        assert!(table.contains("| x |"), "{table}");
        assert!(result.rows_as_strings().expect("strings").is_empty());
    }
}
