//! Hand-written SVG: scales, a plot frame and axes with ticks and labels. Text is escaped here;
//! callers give plain text.

use std::fmt::Write as _;

use super::esc;

/// A linear scale from a domain to a pixel range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linear {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Linear {
    /// Maps `domain` onto `range`; an empty domain is widened to one unit.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Linear {
        let (d0, mut d1) = domain;
        if !(d1 - d0).is_normal() || d1 < d0 {
            d1 = d0 + 1.0;
        }
        Linear {
            d0,
            d1,
            r0: range.0,
            r1: range.1,
        }
    }

    /// The pixel position of `v`.
    pub fn map(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// Round tick values (steps of 1, 2 or 5 × 10ⁿ), about `target` of them, inside the domain.
    pub fn ticks(&self, target: usize) -> Vec<f64> {
        let step = nice_step((self.d1 - self.d0) / target.max(1) as f64);
        let first = (self.d0 / step).ceil() as i64;
        let last = (self.d1 / step + 1e-9).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ not below `raw`.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// A base-10 logarithmic scale over whole decades.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Log10 {
    lo: i32,
    hi: i32,
    r0: f64,
    r1: f64,
}

impl Log10 {
    /// The decades covering `[min, max]` (at least one; values below `floor` are raised to it).
    pub fn covering(min: f64, max: f64, floor: f64, range: (f64, f64)) -> Log10 {
        let lo = min.max(floor).log10().floor() as i32;
        let hi = (max.max(floor).log10().ceil() as i32).max(lo + 1);
        Log10 {
            lo,
            hi,
            r0: range.0,
            r1: range.1,
        }
    }

    /// The pixel position of `v`, clamped into the domain.
    pub fn map(&self, v: f64) -> f64 {
        let e = v.max(10f64.powi(self.lo)).min(10f64.powi(self.hi)).log10();
        self.r0 + (e - self.lo as f64) / (self.hi - self.lo) as f64 * (self.r1 - self.r0)
    }

    /// One tick per power of ten.
    pub fn ticks(&self) -> Vec<f64> {
        (self.lo..=self.hi).map(|e| 10f64.powi(e)).collect()
    }
}

/// The plot area inside an SVG of `width` × `height`, after the margins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// Left edge of the plot area.
    pub fn x0(&self) -> f64 {
        self.left
    }
    /// Right edge of the plot area.
    pub fn x1(&self) -> f64 {
        self.width - self.right
    }
    /// Top edge of the plot area.
    pub fn y0(&self) -> f64 {
        self.top
    }
    /// Bottom edge of the plot area.
    pub fn y1(&self) -> f64 {
        self.height - self.bottom
    }

    /// Opens the `<svg>` element (scalable: a view box, no fixed size) with an accessible label.
    pub fn open(&self, out: &mut String, label: &str) {
        let _ = write!(
            out,
            r#"<svg viewBox="0 0 {} {}" role="img" aria-label="{}">"#,
            n(self.width),
            n(self.height),
            esc(label)
        );
    }

    /// The x axis at the bottom: a line, ticks at `(position, label)`, vertical grid lines and
    /// a title under the labels.
    pub fn x_axis(&self, out: &mut String, ticks: &[(f64, String)], title: &str) {
        let (y1, y0) = (self.y1(), self.y0());
        let _ = write!(
            out,
            r##"<g class="axis"><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#8c959f"/>"##,
            n(self.x0()),
            n(self.x1()),
            y = n(y1)
        );
        for (x, label) in ticks {
            let _ = write!(
                out,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#eaeef2"/><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#8c959f"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
                n(y0),
                n(y1),
                n(y1),
                n(y1 + 5.0),
                n(y1 + 17.0),
                esc(label),
                x = n(*x)
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" class="title">{}</text></g>"#,
            n((self.x0() + self.x1()) / 2.0),
            n(y1 + 33.0),
            esc(title)
        );
    }

    /// A y axis on the left (`right == false`) or right side: a line, ticks at
    /// `(position, label)`, horizontal grid lines (left axis only) and a rotated title.
    pub fn y_axis(&self, out: &mut String, ticks: &[(f64, String)], title: &str, right: bool) {
        let x = if right { self.x1() } else { self.x0() };
        let (dir, anchor) = if right { (1.0, "start") } else { (-1.0, "end") };
        let _ = write!(
            out,
            r##"<g class="axis"><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#8c959f"/>"##,
            n(self.y0()),
            n(self.y1()),
            x = n(x)
        );
        for (y, label) in ticks {
            if !right {
                let _ = write!(
                    out,
                    r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#eaeef2"/>"##,
                    n(self.x0()),
                    n(self.x1()),
                    y = n(*y)
                );
            }
            let _ = write!(
                out,
                r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#8c959f"/><text x="{}" y="{}" text-anchor="{anchor}">{}</text>"##,
                n(x),
                n(x + 5.0 * dir),
                n(x + 8.0 * dir),
                n(*y + 4.0),
                esc(label),
                y = n(*y)
            );
        }
        let tx = x + 52.0 * dir;
        let ty = (self.y0() + self.y1()) / 2.0;
        let _ = write!(
            out,
            r#"<text transform="translate({},{}) rotate({})" text-anchor="middle" class="title">{}</text></g>"#,
            n(tx),
            n(ty),
            if right { 90 } else { -90 },
            esc(title)
        );
    }
}

/// A coordinate or number with at most one decimal and no trailing `.0`: `12.5`, `40`.
pub(crate) fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    match s.strip_suffix(".0") {
        Some("-0") => "0".to_string(),
        Some(whole) => whole.to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_inside_the_domain() {
        let s = Linear::new((0.0, 280.0), (0.0, 100.0));
        assert_eq!(s.ticks(8), [0.0, 50.0, 100.0, 150.0, 200.0, 250.0]);
        assert_eq!(s.map(140.0), 50.0);
        assert_eq!(Linear::new((0.0, 1.0), (0.0, 1.0)).ticks(5).len(), 6);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(3.0), 5.0);
    }

    #[test]
    fn log_scale_covers_whole_decades_and_clamps() {
        let s = Log10::covering(3.0, 31_000.0, 0.1, (200.0, 0.0));
        assert_eq!(s.ticks(), [1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0]);
        assert_eq!(s.map(1.0), 200.0);
        assert_eq!(s.map(100_000.0), 0.0);
        assert_eq!(s.map(0.0), 200.0, "below the domain is clamped");
        let flat = Log10::covering(50.0, 50.0, 0.1, (1.0, 0.0));
        assert_eq!(flat.ticks(), [10.0, 100.0]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(n(40.0), "40");
        assert_eq!(n(12.26), "12.3");
        assert_eq!(n(-0.01), "0");
    }
}
