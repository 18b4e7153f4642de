//! Diagnostic logging through `tracing`: events for whoever debugs the harness, on stderr.
//!
//! Progress lines and results for people are not logs: the CLI prints them with
//! `println!`/`eprintln!` as before. Logs are what a person does not normally need to see —
//! the Spark Connect client's calls, reattaches and interrupts, tonic's and h2's gRPC activity,
//! the load driver's failed operations — and the supervisor daemon's lines (its stderr is
//! `logs/supervisor.log`).
//!
//! - The filter comes from `RUST_LOG` (`tracing_subscriber`'s `EnvFilter` syntax, e.g.
//!   `RUST_LOG=spark_chaos::client=debug,tonic=debug,h2=info`). Without it, [`DEFAULT_FILTER`]:
//!   warnings from dependencies and `info` from this crate, of which only the supervisor emits
//!   any, so an ordinary command prints exactly what it printed before logging existed.
//! - The format is `text` (people) or `json` (one object per line, for CI), from
//!   `--log-format` or `CHAOS_LOG_FORMAT`.
//! - Records of crates that log through the `log` facade (reqwest, rustls) are forwarded into
//!   the same subscriber. (Apache's Spark Connect crates and tonic use `tracing` directly.)

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, ParseError};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter used when `RUST_LOG` is unset or empty.
pub const DEFAULT_FILTER: &str = "warn,spark_chaos=info";

/// The environment variable naming the format (the `--log-format` flag's default).
pub const FORMAT_ENV: &str = "CHAOS_LOG_FORMAT";

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event: time, level, target, spans, message, fields.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's
    /// fields, and the spans it happened in (`span`, `spans`).
    Json,
}

impl LogFormat {
    /// The name used on the command line and in [`FORMAT_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// The filter for a `RUST_LOG` value: [`DEFAULT_FILTER`] when it is unset or blank.
pub fn filter(rust_log: Option<&str>) -> Result<EnvFilter, ParseError> {
    let directives = match rust_log.map(str::trim) {
        Some(s) if !s.is_empty() => s,
        _ => DEFAULT_FILTER,
    };
    EnvFilter::builder().parse(directives)
}

/// A subscriber writing events that pass `filter` to `writer` in `format`. `ansi` colours
/// text output (only for a terminal).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(ansi),
            ),
        ),
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(writer),
            ),
        ),
    }
}

/// The target of the supervisor daemon's own lines, which `logs/supervisor.log` always keeps.
pub const SUPERVISOR_TARGET: &str = crate::platform::DAEMON_LOG_TARGET;

/// The filter of the supervisor daemon: `RUST_LOG`'s (inherited from `env up`), with the
/// daemon's own lines kept at `info` unless `RUST_LOG` names the supervisor itself — a
/// `RUST_LOG=spark_chaos::client=debug chaos run` must not empty `supervisor.log`.
pub fn daemon_filter(rust_log: Option<&str>) -> Result<EnvFilter, ParseError> {
    let filter = filter(rust_log)?;
    if rust_log.is_some_and(|s| s.contains("supervisor")) {
        return Ok(filter);
    }
    Ok(filter.add_directive(format!("{SUPERVISOR_TARGET}=info").parse()?))
}

/// Installs the process-wide subscriber: `RUST_LOG`'s filter, `format`, stderr. `daemon` is
/// true in `chaos supervise` (see [`daemon_filter`]). Call once, first thing; a second call
/// changes nothing.
///
/// The chosen format is also exported as [`FORMAT_ENV`], so that `chaos` processes started
/// from this one (the supervisor daemon of `env up`) log the same way, as they inherit
/// `RUST_LOG` too.
pub fn init(format: LogFormat, daemon: bool) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let parsed = if daemon {
        daemon_filter(rust_log.as_deref())
    } else {
        filter(rust_log.as_deref())
    };
    let filter = parsed.unwrap_or_else(|e| {
        eprintln!("warning: ignoring RUST_LOG ({e}); using `{DEFAULT_FILTER}`");
        filter(None).expect("the default filter parses")
    });
    std::env::set_var(FORMAT_ENV, format.name());
    let ansi = format == LogFormat::Text && std::io::stderr().is_terminal();
    // Fails only if a subscriber is already set (a second call): keep the first.
    let _ = subscriber(format, filter, std::io::stderr, ansi).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer that keeps everything written to it.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Emits one event per interesting target and level under `rust_log`, in `format`.
    fn emit(format: LogFormat, rust_log: Option<&str>) -> String {
        emit_with(format, filter(rust_log).unwrap())
    }

    fn emit_with(format: LogFormat, filter: EnvFilter) -> String {
        let out = Capture::default();
        let sub = subscriber(format, filter, out.clone(), false);
        tracing::subscriber::with_default(sub, || {
            let span = tracing::debug_span!(
                target: "spark_chaos::client::execute",
                "sql",
                operation_id = "op-1"
            );
            let _entered = span.enter();
            tracing::debug!(
                target: "spark_chaos::client::execute",
                session_id = "s-1",
                query = "SELECT 1",
                "ExecutePlan sent"
            );
            tracing::info!(target: SUPERVISOR_TARGET, "connect-41-0: ready");
            tracing::info!(target: "tonic::transport", "dependency info");
            tracing::warn!(target: "h2::proto", "dependency warning");
        });
        out.text()
    }

    #[test]
    fn default_filter_keeps_only_crate_info_and_dependency_warnings() {
        let text = emit(LogFormat::Text, None);
        assert!(text.contains("connect-41-0: ready"), "{text}");
        assert!(text.contains("dependency warning"), "{text}");
        assert!(!text.contains("dependency info"), "{text}");
        assert!(!text.contains("ExecutePlan sent"), "{text}");
        let untimed = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string())
                .collect()
        };
        let blank = emit(LogFormat::Text, Some("  "));
        assert_eq!(
            untimed(&text),
            untimed(&blank),
            "blank RUST_LOG is the default"
        );
    }

    #[test]
    fn rust_log_opens_the_client_at_debug() {
        let text = emit(
            LogFormat::Text,
            Some("spark_chaos::client=debug,tonic=debug,h2=info"),
        );
        let line = text
            .lines()
            .find(|l| l.contains("ExecutePlan sent"))
            .unwrap_or_else(|| panic!("no client event in {text}"));
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("sql{operation_id=\"op-1\"}"), "{line}");
        assert!(line.contains("session_id=\"s-1\""), "{line}");
        assert!(text.contains("dependency info"), "{text}");
        // Only the named targets: the supervisor is not among them.
        assert!(!text.contains("connect-41-0: ready"), "{text}");
    }

    #[test]
    fn json_format_writes_one_object_per_line_with_fields_and_spans() {
        let text = emit(LogFormat::Json, Some("debug"));
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 4, "{text}");
        let sent = &lines[0];
        assert_eq!(sent["level"], "DEBUG");
        assert_eq!(sent["target"], "spark_chaos::client::execute");
        assert_eq!(sent["message"], "ExecutePlan sent");
        assert_eq!(sent["session_id"], "s-1");
        assert_eq!(sent["query"], "SELECT 1");
        assert_eq!(sent["span"]["operation_id"], "op-1");
        assert!(sent["timestamp"].is_string());
        assert_eq!(lines[1]["message"], "connect-41-0: ready");
        assert_eq!(lines[1]["level"], "INFO");
    }

    #[test]
    fn the_daemon_keeps_its_own_lines_under_any_rust_log() {
        for rust_log in [None, Some("warn"), Some("spark_chaos::client=debug")] {
            let text = emit_with(LogFormat::Text, daemon_filter(rust_log).unwrap());
            assert!(text.contains("connect-41-0: ready"), "{rust_log:?}: {text}");
        }
        let quiet = daemon_filter(Some(&format!("{SUPERVISOR_TARGET}=warn"))).unwrap();
        assert!(!emit_with(LogFormat::Text, quiet).contains("connect-41-0: ready"));
        let debug = emit_with(LogFormat::Text, daemon_filter(Some("debug")).unwrap());
        assert!(debug.contains("ExecutePlan sent"), "{debug}");
    }

    #[test]
    fn bad_directives_are_refused_and_formats_have_names() {
        assert!(filter(Some("spark_chaos=loud")).is_err());
        assert!(filter(Some("spark_chaos::client=trace")).is_ok());
        use clap::ValueEnum;
        for f in LogFormat::value_variants() {
            assert_eq!(LogFormat::from_str(f.name(), false), Ok(*f));
        }
    }
}
