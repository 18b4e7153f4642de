//! Result checksums that need no result in memory (pure, no I/O).
//!
//! A result is summarised by its row count and two checksums over per-row digests:
//!
//! * the **row digest** is SHA-256 over the row's column count (`u32`, little-endian)
//!   followed by the canonical encoding of each value in column order (below);
//! * the **unordered** checksum is the wrapping (mod 2¹²⁸) sum of the first 16 bytes of every
//!   row digest read as a little-endian `u128`: it depends on the multiset of rows only, so two
//!   engines returning the same rows in a different order agree;
//! * the **ordered** checksum is SHA-256 over the concatenation of all row digests in arrival
//!   order: it also changes when the order does (meaningful only for `ORDER BY` queries).
//!
//! The empty result has unordered checksum `0` and ordered checksum SHA-256 of nothing.
//!
//! # Canonical value encoding
//!
//! Values are encoded by *meaning*, not by Arrow type, so that the same answer typed slightly
//! differently (e.g. `INT` vs `BIGINT`, `DECIMAL(7,2)` vs `DECIMAL(38,4)`) hashes the same.
//! Each value is a tag byte and a payload; lengths and counts are `u64` little-endian.
//!
//! | value | encoding |
//! |---|---|
//! | null (at any nesting level) | `0x00` |
//! | boolean | `0x01`, then `0x00` or `0x01` |
//! | finite number (any integer, decimal or float type) | `0x02`, length, canonical decimal text |
//! | NaN, +∞, −∞ | `0x03`, length, `NaN` / `Infinity` / `-Infinity` |
//! | string (any offset size or view) | `0x04`, length, UTF-8 bytes |
//! | binary (any offset size, view or fixed size) | `0x05`, length, bytes |
//! | date | `0x06`, days since 1970-01-01 as `i64` |
//! | timestamp with a time zone (an instant) | `0x07`, nanoseconds since the epoch (UTC) as `i128` |
//! | timestamp without a time zone (wall clock) | `0x08`, nanoseconds since the epoch as `i128` |
//! | time of day | `0x09`, nanoseconds since midnight as `i64` |
//! | duration (Spark's day-time interval) | `0x0A`, nanoseconds as `i128` |
//! | interval (Spark's year-month interval) | `0x0B`, months `i32`, days `i32`, nanoseconds `i64` |
//! | list (any kind) | `0x10`, element count, then each element |
//! | struct | `0x11`, field count, then each field value (names are ignored) |
//! | map | `0x12`, entry count, then key and value of each entry, entries sorted by the key's encoding |
//! | dictionary | the encoding of the value it points at |
//! | anything else | `0x7F`, length, Arrow's display text |
//!
//! **Canonical decimal text**: an optional `-`, the integer part without leading zeros
//! (`0` if none), and, when the fraction is non-zero, `.` and the fraction without trailing
//! zeros; zero is `0` (never `-0`). So `1.50`, `1.5` and `1.500000` all encode as `1.5`, and
//! `2.00` as `2`. **Floats** are first rounded to [`ChecksumOptions::float_significant_digits`]
//! significant digits (round-half-to-even on the binary value, as Rust's `{:e}` formatting
//! does), then written the same way, so `0.1 + 0.2` and `0.3` agree at the default of 12 digits.
//! Rounding cannot make two floats that straddle a rounding boundary agree; floating-point
//! results that depend on summation order may still differ in the last digits and need a
//! tolerant comparison, which a checksum cannot give.

use std::fmt;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type,
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    IntervalDayTimeType, IntervalMonthDayNanoType, IntervalYearMonthType, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Options of the canonical encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecksumOptions {
    /// Significant digits floats are rounded to before encoding (clamped to 1..=17).
    pub float_significant_digits: u8,
}

impl Default for ChecksumOptions {
    fn default() -> Self {
        Self {
            float_significant_digits: 12,
        }
    }
}

/// The summary of a result: row count and both checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultChecksum {
    /// Number of rows.
    pub rows: u64,
    /// Order-independent checksum (32 hex digits).
    pub unordered: String,
    /// Order-dependent checksum (64 hex digits).
    pub ordered: String,
}

impl fmt::Display for ResultChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows, unordered {}, ordered {}",
            self.rows, self.unordered, self.ordered
        )
    }
}

/// Accumulates the checksums of a result batch by batch, keeping no rows.
#[derive(Debug, Clone)]
pub struct Checksummer {
    options: ChecksumOptions,
    rows: u64,
    unordered: u128,
    ordered: Sha256,
    buf: Vec<u8>,
}

impl Checksummer {
    /// A checksummer with the given options.
    pub fn new(options: ChecksumOptions) -> Self {
        Self {
            options: ChecksumOptions {
                float_significant_digits: options.float_significant_digits.clamp(1, 17),
            },
            rows: 0,
            unordered: 0,
            ordered: Sha256::new(),
            buf: Vec::new(),
        }
    }

    /// Adds every row of `batch`, in order.
    pub fn add_batch(&mut self, batch: &RecordBatch) {
        let columns = batch.columns();
        for row in 0..batch.num_rows() {
            self.buf.clear();
            self.buf
                .extend_from_slice(&(columns.len() as u32).to_le_bytes());
            for column in columns {
                encode_value(column.as_ref(), row, &self.options, &mut self.buf);
            }
            self.add_row_digest(Sha256::digest(&self.buf).into());
        }
    }

    fn add_row_digest(&mut self, digest: [u8; 32]) {
        let mut low = [0u8; 16];
        low.copy_from_slice(&digest[..16]);
        self.unordered = self.unordered.wrapping_add(u128::from_le_bytes(low));
        self.ordered.update(digest);
        self.rows += 1;
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The checksums of everything added.
    pub fn finish(self) -> ResultChecksum {
        ResultChecksum {
            rows: self.rows,
            unordered: format!("{:032x}", self.unordered),
            ordered: hex::encode(self.ordered.finalize()),
        }
    }
}

/// The checksum of whole batches (a convenience for tests and small results).
pub fn checksum_batches(batches: &[RecordBatch], options: ChecksumOptions) -> ResultChecksum {
    let mut c = Checksummer::new(options);
    for b in batches {
        c.add_batch(b);
    }
    c.finish()
}

const NULL: u8 = 0x00;
const BOOL: u8 = 0x01;
const NUMBER: u8 = 0x02;
const NON_FINITE: u8 = 0x03;
const STRING: u8 = 0x04;
const BINARY: u8 = 0x05;
const DATE: u8 = 0x06;
const INSTANT: u8 = 0x07;
const LOCAL_TIMESTAMP: u8 = 0x08;
const TIME: u8 = 0x09;
const DURATION: u8 = 0x0A;
const INTERVAL: u8 = 0x0B;
const LIST: u8 = 0x10;
const STRUCT: u8 = 0x11;
const MAP: u8 = 0x12;
const OTHER: u8 = 0x7F;

fn put_len_prefixed(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_number_text(out: &mut Vec<u8>, text: &str) {
    put_len_prefixed(out, NUMBER, text.as_bytes());
}

fn put_integer(out: &mut Vec<u8>, value: i128) {
    put_number_text(out, &value.to_string());
}

fn put_decimal(out: &mut Vec<u8>, unscaled: String, scale: i32) {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled.as_str()),
    };
    put_number_text(out, &canonical_decimal(negative, digits, scale));
}

fn put_float(out: &mut Vec<u8>, value: f64, options: &ChecksumOptions) {
    if value.is_nan() {
        put_len_prefixed(out, NON_FINITE, b"NaN");
    } else if value.is_infinite() {
        let text: &[u8] = if value > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        };
        put_len_prefixed(out, NON_FINITE, text);
    } else {
        put_number_text(
            out,
            &canonical_float(value, options.float_significant_digits),
        );
    }
}

/// Canonical decimal text of `±digits × 10^-scale` (see the module docs).
pub(crate) fn canonical_decimal(negative: bool, digits: &str, scale: i32) -> String {
    let (int_part, frac_part) = if scale <= 0 {
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        (format!("{digits}{zeros}"), String::new())
    } else {
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits.to_string()
        };
        let split = padded.len() - scale;
        (padded[..split].to_string(), padded[split..].to_string())
    };
    let int_part = int_part.trim_start_matches('0');
    let frac_part = frac_part.trim_end_matches('0');
    if int_part.is_empty() && frac_part.is_empty() {
        return "0".to_string();
    }
    let mut out = String::with_capacity(int_part.len() + frac_part.len() + 3);
    if negative {
        out.push('-');
    }
    out.push_str(if int_part.is_empty() { "0" } else { int_part });
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(frac_part);
    }
    out
}

/// Canonical decimal text of a finite float rounded to `significant` digits.
pub(crate) fn canonical_float(value: f64, significant: u8) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let precision = usize::from(significant.clamp(1, 17)) - 1;
    let formatted = format!("{value:.precision$e}");
    let Some((mantissa, exponent)) = formatted.split_once('e') else {
        return formatted;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return formatted;
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    canonical_decimal(negative, &digits, precision as i32 - exponent)
}

fn unit_nanos(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn put_i128(out: &mut Vec<u8>, tag: u8, value: i128) {
    out.push(tag);
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_count(out: &mut Vec<u8>, tag: u8, count: usize) {
    out.push(tag);
    out.extend_from_slice(&(count as u64).to_le_bytes());
}

/// Appends the canonical encoding of `array[row]` to `out`.
pub(crate) fn encode_value(
    array: &dyn Array,
    row: usize,
    options: &ChecksumOptions,
    out: &mut Vec<u8>,
) {
    if array.is_null(row) {
        out.push(NULL);
        return;
    }
    macro_rules! int {
        ($t:ty) => {
            put_integer(out, i128::from(array.as_primitive::<$t>().value(row)))
        };
    }
    match array.data_type() {
        DataType::Null => out.push(NULL),
        DataType::Boolean => {
            out.push(BOOL);
            out.push(u8::from(array.as_boolean().value(row)));
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => put_float(
            out,
            f64::from(array.as_primitive::<Float16Type>().value(row)),
            options,
        ),
        DataType::Float32 => put_float(
            out,
            f64::from(array.as_primitive::<Float32Type>().value(row)),
            options,
        ),
        DataType::Float64 => {
            put_float(out, array.as_primitive::<Float64Type>().value(row), options)
        }
        DataType::Decimal32(_, scale) => put_decimal(
            out,
            array.as_primitive::<Decimal32Type>().value(row).to_string(),
            i32::from(*scale),
        ),
        DataType::Decimal64(_, scale) => put_decimal(
            out,
            array.as_primitive::<Decimal64Type>().value(row).to_string(),
            i32::from(*scale),
        ),
        DataType::Decimal128(_, scale) => put_decimal(
            out,
            array
                .as_primitive::<Decimal128Type>()
                .value(row)
                .to_string(),
            i32::from(*scale),
        ),
        DataType::Decimal256(_, scale) => put_decimal(
            out,
            array
                .as_primitive::<Decimal256Type>()
                .value(row)
                .to_string(),
            i32::from(*scale),
        ),
        DataType::Utf8 => {
            put_len_prefixed(out, STRING, array.as_string::<i32>().value(row).as_bytes())
        }
        DataType::LargeUtf8 => {
            put_len_prefixed(out, STRING, array.as_string::<i64>().value(row).as_bytes())
        }
        DataType::Utf8View => {
            put_len_prefixed(out, STRING, array.as_string_view().value(row).as_bytes())
        }
        DataType::Binary => put_len_prefixed(out, BINARY, array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => put_len_prefixed(out, BINARY, array.as_binary::<i64>().value(row)),
        DataType::BinaryView => put_len_prefixed(out, BINARY, array.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => {
            put_len_prefixed(out, BINARY, array.as_fixed_size_binary().value(row))
        }
        DataType::Date32 => {
            out.push(DATE);
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            out.extend_from_slice(&days.to_le_bytes());
        }
        DataType::Date64 => {
            out.push(DATE);
            let days = array
                .as_primitive::<Date64Type>()
                .value(row)
                .div_euclid(86_400_000);
            out.extend_from_slice(&days.to_le_bytes());
        }
        DataType::Timestamp(unit, tz) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let tag = if tz.is_some() {
                INSTANT
            } else {
                LOCAL_TIMESTAMP
            };
            put_i128(out, tag, i128::from(raw) * unit_nanos(unit));
        }
        DataType::Time32(unit) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row),
                _ => array.as_primitive::<Time32MillisecondType>().value(row),
            };
            out.push(TIME);
            let nanos = i128::from(raw) * unit_nanos(unit);
            out.extend_from_slice(&(nanos as i64).to_le_bytes());
        }
        DataType::Time64(unit) => {
            let raw = match unit {
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(row),
                _ => array.as_primitive::<Time64MicrosecondType>().value(row),
            };
            out.push(TIME);
            let nanos = i128::from(raw) * unit_nanos(unit);
            out.extend_from_slice(&(nanos as i64).to_le_bytes());
        }
        DataType::Duration(unit) => {
            let raw = match unit {
                TimeUnit::Second => array.as_primitive::<DurationSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<DurationMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<DurationMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().value(row),
            };
            put_i128(out, DURATION, i128::from(raw) * unit_nanos(unit));
        }
        DataType::Interval(unit) => {
            let (months, days, nanos) = match unit {
                IntervalUnit::YearMonth => (
                    array.as_primitive::<IntervalYearMonthType>().value(row),
                    0,
                    0,
                ),
                IntervalUnit::DayTime => {
                    let v = array.as_primitive::<IntervalDayTimeType>().value(row);
                    (0, v.days, i64::from(v.milliseconds) * 1_000_000)
                }
                IntervalUnit::MonthDayNano => {
                    let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
                    (v.months, v.days, v.nanoseconds)
                }
            };
            out.push(INTERVAL);
            out.extend_from_slice(&months.to_le_bytes());
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&nanos.to_le_bytes());
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            encode_range(list.values().as_ref(), start, end, options, out);
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let offsets = list.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            encode_range(list.values().as_ref(), start, end, options, out);
        }
        DataType::FixedSizeList(_, size) => {
            let list = array.as_fixed_size_list();
            let size = (*size).max(0) as usize;
            let start = list.value_offset_at(row);
            encode_range(list.values().as_ref(), start, start + size, options, out);
        }
        DataType::ListView(_) => {
            let list = array.as_list_view::<i32>();
            let start = list.value_offset(row).max(0) as usize;
            let size = list.value_size(row).max(0) as usize;
            encode_range(list.values().as_ref(), start, start + size, options, out);
        }
        DataType::LargeListView(_) => {
            let list = array.as_list_view::<i64>();
            let start = list.value_offset(row).max(0) as usize;
            let size = list.value_size(row).max(0) as usize;
            encode_range(list.values().as_ref(), start, start + size, options, out);
        }
        DataType::Struct(_) => {
            let s = array.as_struct();
            put_count(out, STRUCT, s.num_columns());
            for column in s.columns() {
                encode_value(column.as_ref(), row, options, out);
            }
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let offsets = map.value_offsets();
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            let mut entries: Vec<(Vec<u8>, Vec<u8>)> = (start..end)
                .map(|i| {
                    let mut key = Vec::new();
                    encode_value(map.keys().as_ref(), i, options, &mut key);
                    let mut value = Vec::new();
                    encode_value(map.values().as_ref(), i, options, &mut value);
                    (key, value)
                })
                .collect();
            entries.sort();
            put_count(out, MAP, entries.len());
            for (key, value) in entries {
                out.extend_from_slice(&key);
                out.extend_from_slice(&value);
            }
        }
        DataType::Dictionary(_, _) => match array.as_any_dictionary_opt() {
            Some(dict) => {
                let keys = dict.normalized_keys();
                match keys.get(row) {
                    Some(&key) if key < dict.values().len() => {
                        encode_value(dict.values().as_ref(), key, options, out)
                    }
                    _ => out.push(NULL),
                }
            }
            None => encode_other(array, row, out),
        },
        _ => encode_other(array, row, out),
    }
}

/// Encodes `values[start..end]` as a list (bounds are clamped, never panicking).
fn encode_range(
    values: &dyn Array,
    start: usize,
    end: usize,
    options: &ChecksumOptions,
    out: &mut Vec<u8>,
) {
    let end = end.min(values.len());
    let start = start.min(end);
    put_count(out, LIST, end - start);
    for i in start..end {
        encode_value(values, i, options, out);
    }
}

fn encode_other(array: &dyn Array, row: usize, out: &mut Vec<u8>) {
    let text = ArrayFormatter::try_new(array, &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|e| format!("<unformattable {}: {e}>", array.data_type()));
    put_len_prefixed(out, OTHER, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{Int32Builder, ListBuilder, MapBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray, StructArray,
        TimestampMicrosecondArray, TimestampSecondArray,
    };
    use arrow_schema::Field;

    use super::*;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).expect("valid batch")
    }

    fn encoded(array: &dyn Array, row: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(array, row, &ChecksumOptions::default(), &mut out);
        out
    }

    #[test]
    fn canonical_decimal_text() {
        assert_eq!(canonical_decimal(false, "150", 2), "1.5");
        assert_eq!(canonical_decimal(false, "200", 2), "2");
        assert_eq!(canonical_decimal(true, "5", 3), "-0.005");
        assert_eq!(canonical_decimal(true, "0", 2), "0");
        assert_eq!(canonical_decimal(false, "12", -3), "12000");
        assert_eq!(canonical_decimal(false, "0", 0), "0");
        assert_eq!(canonical_decimal(false, "007", 0), "7");
    }

    #[test]
    fn canonical_float_text() {
        assert_eq!(canonical_float(0.1 + 0.2, 12), "0.3");
        assert_eq!(canonical_float(-0.0, 12), "0");
        assert_eq!(canonical_float(2.0, 12), "2");
        assert_eq!(canonical_float(1e20, 12), "100000000000000000000");
        assert_eq!(canonical_float(-1.25e-7, 12), "-0.000000125");
        assert_eq!(canonical_float(123456.789, 4), "123500");
        assert_eq!(canonical_float(f64::MAX, 17).len(), 309);
    }

    #[test]
    fn numbers_hash_by_value_not_type() {
        let int = Int32Array::from(vec![2]);
        let long = Int64Array::from(vec![2]);
        let dec = Decimal128Array::from(vec![200])
            .with_precision_and_scale(7, 2)
            .expect("valid decimal");
        let dbl = Float64Array::from(vec![2.0]);
        let e = encoded(&int, 0);
        assert_eq!(e, encoded(&long, 0));
        assert_eq!(e, encoded(&dec, 0));
        assert_eq!(e, encoded(&dbl, 0));
        assert_ne!(e, encoded(&StringArray::from(vec!["2"]), 0));
    }

    #[test]
    fn timestamps_normalise_units_and_keep_zone_kind() {
        let secs = TimestampSecondArray::from(vec![1]).with_timezone("UTC");
        let micros = TimestampMicrosecondArray::from(vec![1_000_000]).with_timezone("+00:00");
        let local = TimestampMicrosecondArray::from(vec![1_000_000]);
        assert_eq!(encoded(&secs, 0), encoded(&micros, 0));
        assert_ne!(encoded(&micros, 0), encoded(&local, 0));
    }

    #[test]
    fn string_boundaries_are_unambiguous() {
        let a = batch(vec![
            ("x", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
            ("y", Arc::new(StringArray::from(vec!["bc"]))),
        ]);
        let b = batch(vec![
            ("x", Arc::new(StringArray::from(vec!["ab"])) as ArrayRef),
            ("y", Arc::new(StringArray::from(vec!["c"]))),
        ]);
        let o = ChecksumOptions::default();
        assert_ne!(checksum_batches(&[a], o), checksum_batches(&[b], o));
    }

    #[test]
    fn unordered_ignores_order_and_batching_ordered_does_not() {
        let o = ChecksumOptions::default();
        let rows =
            |v: Vec<Option<i32>>| batch(vec![("n", Arc::new(Int32Array::from(v)) as ArrayRef)]);
        let forward = checksum_batches(&[rows(vec![Some(1), Some(2), None])], o);
        let split = checksum_batches(&[rows(vec![Some(1)]), rows(vec![Some(2), None])], o);
        let backward = checksum_batches(&[rows(vec![None, Some(2), Some(1)])], o);
        assert_eq!(forward, split);
        assert_eq!(forward.rows, 3);
        assert_eq!(forward.unordered, backward.unordered);
        assert_ne!(forward.ordered, backward.ordered);
        // A multiset, not a set: duplicates count.
        let dup = checksum_batches(&[rows(vec![Some(1), Some(1)])], o);
        let once = checksum_batches(&[rows(vec![Some(1)])], o);
        assert_ne!(dup.unordered, once.unordered);
    }

    #[test]
    fn empty_result_checksum_is_fixed() {
        let empty = checksum_batches(&[], ChecksumOptions::default());
        assert_eq!(empty.rows, 0);
        assert_eq!(empty.unordered, "0".repeat(32));
        assert_eq!(
            empty.ordered,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn checksum_is_pinned() {
        // Pins the encoding: changing it silently would break stored baselines.
        let b = batch(vec![
            (
                "i",
                Arc::new(Int32Array::from(vec![Some(42), None])) as ArrayRef,
            ),
            ("s", Arc::new(StringArray::from(vec![Some("x"), Some("")]))),
        ]);
        let c = checksum_batches(&[b], ChecksumOptions::default());
        let mut row0 = 2u32.to_le_bytes().to_vec();
        row0.extend([NUMBER, 2, 0, 0, 0, 0, 0, 0, 0, b'4', b'2']);
        row0.extend([STRING, 1, 0, 0, 0, 0, 0, 0, 0, b'x']);
        let mut row1 = 2u32.to_le_bytes().to_vec();
        row1.extend([NULL, STRING, 0, 0, 0, 0, 0, 0, 0, 0]);
        let d0: [u8; 32] = Sha256::digest(&row0).into();
        let d1: [u8; 32] = Sha256::digest(&row1).into();
        let low = |d: &[u8; 32]| u128::from_le_bytes(d[..16].try_into().expect("16 bytes"));
        assert_eq!(
            c.unordered,
            format!("{:032x}", low(&d0).wrapping_add(low(&d1)))
        );
        let mut ordered = Sha256::new();
        ordered.update(d0);
        ordered.update(d1);
        assert_eq!(c.ordered, hex::encode(ordered.finalize()));
    }

    #[test]
    fn nested_values_and_maps() {
        let mut lists = ListBuilder::new(Int32Builder::new());
        lists.values().append_value(1);
        lists.values().append_null();
        lists.append(true);
        lists.append(false);
        let lists = lists.finish();
        assert_eq!(encoded(&lists, 1), vec![NULL]);
        let e = encoded(&lists, 0);
        assert_eq!(e[0], LIST);
        assert_eq!(e[1], 2);

        // Map entries are sorted, so {a:1,b:2} == {b:2,a:1}.
        let mut maps = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        maps.keys().append_value("a");
        maps.values().append_value(1);
        maps.keys().append_value("b");
        maps.values().append_value(2);
        maps.append(true).expect("map row");
        maps.keys().append_value("b");
        maps.values().append_value(2);
        maps.keys().append_value("a");
        maps.values().append_value(1);
        maps.append(true).expect("map row");
        let maps = maps.finish();
        assert_eq!(encoded(&maps, 0), encoded(&maps, 1));

        let s = StructArray::from(vec![
            (
                Arc::new(Field::new("a", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![7])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("b", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["z"])) as ArrayRef,
            ),
        ]);
        assert_eq!(encoded(&s, 0)[0], STRUCT);
    }
}
