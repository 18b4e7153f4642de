//! Cell values normalised for comparison, and the per-column comparison plan (pure).
//!
//! Every Arrow value becomes a [`Cell`] whose *meaning* survives and whose engine-specific
//! representation does not: integer widths, decimal scale, string offset sizes, date vs
//! timestamp units and time-zone annotation, dictionary encoding. This follows the canonical
//! value encoding of [`crate::client::checksum`] (same equivalences), but keeps numbers as
//! numbers, so that floating-point columns can be compared with a tolerance, and borrows
//! strings instead of copying them. Values the oracle has no dedicated cell for (lists,
//! structs, maps, …) are compared through that module's canonical encoding.

use std::sync::Arc;

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
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};

use crate::client::checksum::{canonical_decimal, encode_value, ChecksumOptions};

use super::Tolerance;

/// One value, normalised (see the module docs).
///
/// Invariants kept by the constructors: `Num` has a scale ≥ 0 with no trailing fractional
/// zeros (so `1.50`, `1.5000` and `3/2` as `15, 1` are one representation, and `2.00` is the
/// integer `2, 0`); `Float` is never `-0.0` and every NaN is the same NaN.
#[derive(Debug, Clone)]
pub(crate) enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An exact number (any integer or decimal type): `unscaled × 10^-scale`.
    Num(i128, i8),
    /// A floating-point number.
    Float(f64),
    /// A string of any offset size or view.
    Str(&'a str),
    /// Binary of any kind.
    Bin(&'a [u8]),
    /// A date or timestamp as nanoseconds since the epoch (a date is its midnight; the
    /// time-zone annotation is ignored: Arrow stores both kinds as epoch offsets).
    Instant(i128),
    /// A time of day in nanoseconds.
    Time(i64),
    /// A duration in nanoseconds.
    Duration(i128),
    /// An interval: months, days, nanoseconds.
    Interval(i32, i32, i64),
    /// Anything else, by its canonical encoding from the checksum module.
    Other(Box<[u8]>),
}

impl Cell<'_> {
    /// The numeric value, for integers, decimals and floats.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Num(unscaled, scale) => Some(*unscaled as f64 / 10f64.powi(i32::from(*scale))),
            Cell::Float(v) => Some(*v),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }

    /// Rank and numeric value used to sort cells of a tolerant column: nulls, then numbers
    /// by value, then NaN, then anything else.
    pub(crate) fn tolerant_key(&self) -> (u8, f64) {
        match self {
            Cell::Null => (0, 0.0),
            Cell::Num(..) | Cell::Float(_) => match self.as_f64() {
                Some(v) if v.is_nan() => (2, 0.0),
                Some(v) => (1, v),
                None => (3, 0.0),
            },
            _ => (3, 0.0),
        }
    }
}

/// Exact equality of two normalised cells (NaN equals NaN, -0.0 equals 0.0, null equals null).
pub(crate) fn exact_eq(x: &Cell<'_>, y: &Cell<'_>) -> bool {
    match (x, y) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Bool(a), Cell::Bool(b)) => a == b,
        (Cell::Num(a, s), Cell::Num(b, t)) => a == b && s == t,
        (Cell::Float(a), Cell::Float(b)) => a.to_bits() == b.to_bits(),
        // An exact number and a float are equal only when the float is exactly that number.
        (Cell::Num(..), Cell::Float(b)) => x.as_f64() == Some(*b),
        (Cell::Float(a), Cell::Num(..)) => y.as_f64() == Some(*a),
        (Cell::Str(a), Cell::Str(b)) => a == b,
        (Cell::Bin(a), Cell::Bin(b)) => a == b,
        (Cell::Instant(a), Cell::Instant(b)) => a == b,
        (Cell::Time(a), Cell::Time(b)) => a == b,
        (Cell::Duration(a), Cell::Duration(b)) => a == b,
        (Cell::Interval(a, b, c), Cell::Interval(d, e, f)) => a == d && b == e && c == f,
        (Cell::Other(a), Cell::Other(b)) => a == b,
        _ => false,
    }
}

/// Float tolerance with sanitised bounds (finite, non-negative).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tol {
    pub(crate) relative: f64,
    pub(crate) absolute: f64,
}

impl Tol {
    pub(crate) fn new(tolerance: &Tolerance) -> Self {
        let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
        Self {
            relative: clean(tolerance.relative),
            absolute: clean(tolerance.absolute),
        }
    }

    /// Whether two numbers are equal within the tolerance, or within `slack` (half a unit of
    /// the last place of a decimal compared with a float).
    pub(crate) fn close(&self, x: f64, y: f64, slack: f64) -> bool {
        if x == y || (x.is_nan() && y.is_nan()) {
            return true;
        }
        if !x.is_finite() || !y.is_finite() {
            return false;
        }
        let d = (x - y).abs();
        d <= self.absolute || d <= self.relative * x.abs().max(y.abs()) || d <= slack * (1.0 + 1e-9)
    }

    /// Half-width of the interval of values that can be [`Tol::close`] to `v` (conservative).
    pub(crate) fn reach(&self, v: f64, slack: f64) -> f64 {
        let relative = if self.relative < 1.0 {
            self.relative * v.abs() / (1.0 - self.relative)
        } else {
            f64::INFINITY
        };
        let widest = self.absolute.max(slack * (1.0 + 1e-9)).max(relative);
        widest * (1.0 + 1e-9) + f64::MIN_POSITIVE
    }
}

/// How one column position is compared (from the two sides' Arrow types).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ColumnPlan {
    /// Floating point on either side: numbers compare with the tolerance, and the column is
    /// left out of row hashes.
    pub(crate) tolerant: bool,
    /// Extra absolute slack for a decimal compared with a float: half a unit of the decimal's
    /// last place (the decimal was rounded there, the float was not).
    pub(crate) slack: f64,
    /// Both sides decimal with different positive scales: both are rounded (half away from
    /// zero) to the coarser scale before comparing.
    pub(crate) round_to: Option<i8>,
}

/// The type a column's values have once dictionary encoding is removed.
pub(crate) fn value_type(dt: &DataType) -> &DataType {
    match dt {
        DataType::Dictionary(_, value) => value_type(value),
        other => other,
    }
}

fn is_float(dt: &DataType) -> bool {
    matches!(
        value_type(dt),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}

fn decimal_scale(dt: &DataType) -> Option<i8> {
    match value_type(dt) {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => Some(*s),
        _ => None,
    }
}

impl ColumnPlan {
    /// The plan for a column typed `expected` on one side and `actual` on the other (`None`
    /// when a side has no batches and so no schema).
    pub(crate) fn new(expected: Option<&DataType>, actual: Option<&DataType>) -> Self {
        let float = |d: Option<&DataType>| d.is_some_and(is_float);
        let scale = |d: Option<&DataType>| d.and_then(decimal_scale);
        let tolerant = float(expected) || float(actual);
        let half_unit = |s: i8| 0.5 * 10f64.powi(-i32::from(s));
        let mut slack = 0.0f64;
        if tolerant {
            if let (Some(s), true) = (scale(expected), float(actual)) {
                slack = slack.max(half_unit(s));
            }
            if let (Some(s), true) = (scale(actual), float(expected)) {
                slack = slack.max(half_unit(s));
            }
        }
        let round_to = match (scale(expected), scale(actual)) {
            (Some(a), Some(b)) if a != b && a.min(b) > 0 => Some(a.min(b)),
            _ => None,
        };
        Self {
            tolerant,
            slack,
            round_to,
        }
    }

    /// Equality across the two sides.
    pub(crate) fn eq(&self, tol: &Tol, x: &Cell<'_>, y: &Cell<'_>) -> bool {
        if self.tolerant {
            if let (Some(a), Some(b)) = (x.as_f64(), y.as_f64()) {
                return tol.close(a, b, self.slack);
            }
        }
        exact_eq(x, y)
    }

    /// Equality of two cells of the same side (for grouping rows by sort key): exact, except
    /// that floats may differ within the tolerance.
    pub(crate) fn same_side_eq(&self, tol: &Tol, x: &Cell<'_>, y: &Cell<'_>) -> bool {
        match (x, y) {
            (Cell::Float(a), Cell::Float(b)) => tol.close(*a, *b, self.slack),
            _ => exact_eq(x, y),
        }
    }
}

/// `array` with dictionary encoding removed (cells borrow from the result, so it is kept
/// alive by the caller for as long as they are).
pub(crate) fn resolve_array(array: &ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Dictionary(_, value) => {
            arrow_cast::cast(array.as_ref(), value).unwrap_or_else(|_| Arc::clone(array))
        }
        _ => Arc::clone(array),
    }
}

/// A normalised exact number, or its canonical text when it does not fit in an `i128`.
fn number(unscaled: i128, scale: i32, round_to: Option<i8>) -> Cell<'static> {
    let (mut u, mut s) = (unscaled, scale);
    if let Some(target) = round_to.map(i32::from) {
        if s > target {
            u = round_div_pow10(u, s - target);
            s = target;
        }
    }
    if s < 0 {
        let scaled = 10i128
            .checked_pow(s.unsigned_abs())
            .and_then(|p| u.checked_mul(p));
        match scaled {
            Some(v) => {
                u = v;
                s = 0;
            }
            None => return number_text(&u.to_string(), s),
        }
    }
    if u == 0 {
        return Cell::Num(0, 0);
    }
    if let Ok(mut small) = i64::try_from(u) {
        // The usual case; 64-bit division is much cheaper than 128-bit.
        while s > 0 && small % 10 == 0 {
            small /= 10;
            s -= 1;
        }
        u = i128::from(small);
    } else {
        while s > 0 && u % 10 == 0 {
            u /= 10;
            s -= 1;
        }
    }
    match i8::try_from(s) {
        Ok(s) => Cell::Num(u, s),
        Err(_) => number_text(&u.to_string(), s),
    }
}

/// `unscaled / 10^k` rounded half away from zero (`k` ≥ 1).
fn round_div_pow10(unscaled: i128, k: i32) -> i128 {
    let Some(p) = 10i128.checked_pow(k.unsigned_abs()) else {
        return 0; // |unscaled| < 10^39 ≤ half of 10^k
    };
    let (q, r) = (unscaled / p, unscaled % p);
    if r.unsigned_abs() * 2 >= p.unsigned_abs() {
        q + unscaled.signum()
    } else {
        q
    }
}

fn number_text(unscaled: &str, scale: i32) -> Cell<'static> {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    let text = canonical_decimal(negative, digits, scale);
    Cell::Other(format!("number:{text}").into_bytes().into_boxed_slice())
}

fn float(v: f64) -> Cell<'static> {
    if v.is_nan() {
        Cell::Float(f64::NAN)
    } else if v == 0.0 {
        Cell::Float(0.0)
    } else {
        Cell::Float(v)
    }
}

fn unit_nanos(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

const NANOS_PER_DAY: i128 = 86_400_000_000_000;

/// Appends one cell per row of `array` to `out`.
pub(crate) fn push_cells<'a>(array: &'a dyn Array, round_to: Option<i8>, out: &mut Vec<Cell<'a>>) {
    out.reserve(array.len());
    macro_rules! each {
        ($typed:expr, |$v:ident| $make:expr) => {
            out.extend($typed.iter().map(|o| match o {
                Some($v) => $make,
                None => Cell::Null,
            }))
        };
    }
    macro_rules! int {
        ($t:ty) => {
            each!(array.as_primitive::<$t>(), |v| Cell::Num(i128::from(v), 0))
        };
    }
    macro_rules! decimal {
        ($t:ty, $scale:expr) => {
            each!(array.as_primitive::<$t>(), |v| number(
                i128::from(v),
                i32::from($scale),
                round_to
            ))
        };
    }
    match array.data_type() {
        DataType::Null => out.extend((0..array.len()).map(|_| Cell::Null)),
        DataType::Boolean => each!(array.as_boolean(), |v| Cell::Bool(v)),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => each!(array.as_primitive::<Float16Type>(), |v| float(f64::from(v))),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v| float(f64::from(v))),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), |v| float(v)),
        DataType::Decimal32(_, s) => decimal!(Decimal32Type, *s),
        DataType::Decimal64(_, s) => decimal!(Decimal64Type, *s),
        DataType::Decimal128(_, s) => decimal!(Decimal128Type, *s),
        DataType::Decimal256(_, s) => {
            let scale = i32::from(*s);
            each!(
                array.as_primitive::<Decimal256Type>(),
                |v| match v.to_i128() {
                    Some(small) => number(small, scale, round_to),
                    None => number_text(&v.to_string(), scale),
                }
            )
        }
        DataType::Utf8 => each!(array.as_string::<i32>(), |v| Cell::Str(v)),
        DataType::LargeUtf8 => each!(array.as_string::<i64>(), |v| Cell::Str(v)),
        DataType::Utf8View => each!(array.as_string_view(), |v| Cell::Str(v)),
        DataType::Binary => each!(array.as_binary::<i32>(), |v| Cell::Bin(v)),
        DataType::LargeBinary => each!(array.as_binary::<i64>(), |v| Cell::Bin(v)),
        DataType::BinaryView => each!(array.as_binary_view(), |v| Cell::Bin(v)),
        DataType::FixedSizeBinary(_) => each!(array.as_fixed_size_binary(), |v| Cell::Bin(v)),
        DataType::Date32 => each!(array.as_primitive::<Date32Type>(), |v| Cell::Instant(
            i128::from(v) * NANOS_PER_DAY
        )),
        DataType::Date64 => each!(array.as_primitive::<Date64Type>(), |v| Cell::Instant(
            i128::from(v) * 1_000_000
        )),
        DataType::Timestamp(unit, _) => {
            let n = unit_nanos(unit);
            match unit {
                TimeUnit::Second => each!(array.as_primitive::<TimestampSecondType>(), |v| {
                    Cell::Instant(i128::from(v) * n)
                }),
                TimeUnit::Millisecond => {
                    each!(array.as_primitive::<TimestampMillisecondType>(), |v| {
                        Cell::Instant(i128::from(v) * n)
                    })
                }
                TimeUnit::Microsecond => {
                    each!(array.as_primitive::<TimestampMicrosecondType>(), |v| {
                        Cell::Instant(i128::from(v) * n)
                    })
                }
                TimeUnit::Nanosecond => {
                    each!(array.as_primitive::<TimestampNanosecondType>(), |v| {
                        Cell::Instant(i128::from(v))
                    })
                }
            }
        }
        DataType::Time32(TimeUnit::Second) => {
            each!(array.as_primitive::<Time32SecondType>(), |v| Cell::Time(
                i64::from(v) * 1_000_000_000
            ))
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            each!(array.as_primitive::<Time32MillisecondType>(), |v| {
                Cell::Time(i64::from(v) * 1_000_000)
            })
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            each!(array.as_primitive::<Time64MicrosecondType>(), |v| {
                Cell::Time(v.saturating_mul(1_000))
            })
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            each!(
                array.as_primitive::<Time64NanosecondType>(),
                |v| Cell::Time(v)
            )
        }
        DataType::Duration(unit) => {
            let n = unit_nanos(unit);
            match unit {
                TimeUnit::Second => each!(array.as_primitive::<DurationSecondType>(), |v| {
                    Cell::Duration(i128::from(v) * n)
                }),
                TimeUnit::Millisecond => {
                    each!(array.as_primitive::<DurationMillisecondType>(), |v| {
                        Cell::Duration(i128::from(v) * n)
                    })
                }
                TimeUnit::Microsecond => {
                    each!(array.as_primitive::<DurationMicrosecondType>(), |v| {
                        Cell::Duration(i128::from(v) * n)
                    })
                }
                TimeUnit::Nanosecond => {
                    each!(array.as_primitive::<DurationNanosecondType>(), |v| {
                        Cell::Duration(i128::from(v))
                    })
                }
            }
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            each!(array.as_primitive::<IntervalYearMonthType>(), |v| {
                Cell::Interval(v, 0, 0)
            })
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            each!(array.as_primitive::<IntervalDayTimeType>(), |v| {
                Cell::Interval(0, v.days, i64::from(v.milliseconds) * 1_000_000)
            })
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            each!(array.as_primitive::<IntervalMonthDayNanoType>(), |v| {
                Cell::Interval(v.months, v.days, v.nanoseconds)
            })
        }
        _ => {
            let options = ChecksumOptions {
                float_significant_digits: 17,
            };
            out.extend((0..array.len()).map(|row| {
                if array.is_null(row) {
                    Cell::Null
                } else {
                    let mut buf = Vec::new();
                    encode_value(array, row, &options, &mut buf);
                    Cell::Other(buf.into_boxed_slice())
                }
            }))
        }
    }
}

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(K)
}

fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    h = mix(h, bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    h
}

fn mix_i128(h: u64, v: i128) -> u64 {
    mix(mix(h, v as u64), (v >> 64) as u64)
}

/// Folds a cell of an exact column into a row hash; cells that are [`exact_eq`] hash alike.
pub(crate) fn hash_cell(h: u64, cell: &Cell<'_>) -> u64 {
    match cell {
        Cell::Null => mix(h, 0),
        Cell::Bool(b) => mix(mix(h, 1), u64::from(*b)),
        Cell::Num(u, s) => mix(mix_i128(mix(h, 2), *u), *s as u64),
        // Floats never reach a hashed (exact) column; hash them coarsely all the same, so
        // that equality, not the hash, decides.
        Cell::Float(_) => mix(h, 3),
        Cell::Str(s) => mix_bytes(mix(h, 4), s.as_bytes()),
        Cell::Bin(b) => mix_bytes(mix(h, 5), b),
        Cell::Instant(v) => mix_i128(mix(h, 6), *v),
        Cell::Time(v) => mix(mix(h, 7), *v as u64),
        Cell::Duration(v) => mix_i128(mix(h, 8), *v),
        Cell::Interval(m, d, n) => mix(mix(mix(mix(h, 9), *m as u64), *d as u64), *n as u64),
        Cell::Other(b) => mix_bytes(mix(h, 10), b),
    }
}

/// Final avalanche of a row hash.
pub(crate) fn finish_hash(h: u64) -> u64 {
    let mut x = h;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

#[cfg(test)]
mod tests {
    use arrow_array::{Decimal128Array, Float64Array, Int32Array, Int64Array};

    use super::*;

    fn cells(array: &dyn Array, round_to: Option<i8>) -> Vec<Cell<'_>> {
        let mut out = Vec::new();
        push_cells(array, round_to, &mut out);
        out
    }

    #[test]
    fn numbers_normalise_scale_and_width() {
        let dec = Decimal128Array::from(vec![150, 200, 0, -5])
            .with_precision_and_scale(7, 2)
            .expect("valid decimal");
        let c = cells(&dec, None);
        assert!(matches!(c[0], Cell::Num(15, 1)));
        assert!(matches!(c[1], Cell::Num(2, 0)));
        assert!(matches!(c[2], Cell::Num(0, 0)));
        assert!(matches!(c[3], Cell::Num(-5, 2)));
        let ints = Int32Array::from(vec![2]);
        let longs = Int64Array::from(vec![2]);
        assert!(exact_eq(&cells(&ints, None)[0], &c[1]));
        assert!(exact_eq(&cells(&longs, None)[0], &c[1]));
    }

    #[test]
    fn rounding_to_a_coarser_scale() {
        assert_eq!(round_div_pow10(1_234_999, 4), 123);
        assert_eq!(round_div_pow10(1_235_000, 4), 124);
        assert_eq!(round_div_pow10(-1_235_000, 4), -124);
        assert_eq!(round_div_pow10(i128::MAX, 60), 0);
        let fine = Decimal128Array::from(vec![1_234_999])
            .with_precision_and_scale(12, 6)
            .expect("valid decimal");
        assert!(matches!(cells(&fine, Some(2))[0], Cell::Num(123, 2)));
    }

    #[test]
    fn floats_normalise_zero_and_nan() {
        let f = Float64Array::from(vec![-0.0, f64::NAN, -f64::NAN]);
        let c = cells(&f, None);
        assert!(exact_eq(&c[0], &Cell::Float(0.0)));
        assert!(exact_eq(&c[1], &c[2]));
    }

    #[test]
    fn tolerance_is_relative_with_an_absolute_floor() {
        let tol = Tol::new(&Tolerance::default());
        assert!(tol.close(1e6, 1e6 + 0.5, 0.0));
        assert!(!tol.close(1e6, 1e6 + 2.0, 0.0));
        assert!(tol.close(0.0, 1e-12, 0.0));
        assert!(!tol.close(0.0, 1e-6, 0.0));
        assert!(tol.close(f64::INFINITY, f64::INFINITY, 0.0));
        assert!(!tol.close(f64::INFINITY, f64::NEG_INFINITY, 0.0));
        assert!(!tol.close(f64::NAN, 1.0, 0.0));
        assert!(tol.close(0.0000005, 0.000001, 0.5e-6));
        // Everything close to v lies within reach of v.
        for (v, slack) in [(123.456, 0.0), (-5e-7, 0.5e-6), (0.0, 0.0), (1e300, 0.0)] {
            let r = tol.reach(v, slack);
            assert!(r > 0.0);
            for d in [r * 0.5, r * 0.999_999, r * 1.000_001, r * 2.0] {
                for w in [v + d, v - d] {
                    if tol.close(v, w, slack) {
                        assert!((w - v).abs() <= r, "{v} {w} {r}");
                    }
                }
            }
        }
        let odd = Tol::new(&Tolerance {
            relative: f64::NAN,
            absolute: -1.0,
        });
        assert!(!odd.close(1.0, 1.0000001, 0.0));
    }
}
