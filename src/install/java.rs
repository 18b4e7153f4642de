//! Finding a Java 17 runtime (every JVM of the environment uses it: Spark 4.1 needs 17+,
//! Spark 3.5 and both metastores run on it).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::InstallError;

/// Finds a Java 17 home: `$JAVA_HOME` if it is Java 17, else a JDK 17 under /usr/lib/jvm.
pub fn find_java17() -> Result<PathBuf, InstallError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(h) = std::env::var_os("JAVA_HOME").filter(|v| !v.is_empty()) {
        candidates.push(PathBuf::from(h));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/jvm") {
        let mut found: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        found.sort();
        candidates.extend(
            found
                .into_iter()
                .filter(|p| p.to_string_lossy().contains("17")),
        );
    }
    for home in candidates {
        if major_version(&home) == Some(17) {
            return Ok(home);
        }
    }
    Err(InstallError::Missing {
        what: "Java 17".into(),
        how: "apt-get install openjdk-17-jdk-headless (or set JAVA_HOME to a JDK 17)".into(),
    })
}

/// The major version of the `java` in `home`, from `java -version`.
pub fn major_version(home: &Path) -> Option<u32> {
    let out = Command::new(home.join("bin").join("java"))
        .arg("-version")
        .output()
        .ok()?;
    parse_major(&String::from_utf8_lossy(&out.stderr))
}

/// Parses the major version from `java -version` output (`openjdk version "17.0.15" ...`).
pub fn parse_major(text: &str) -> Option<u32> {
    let start = text.find("version \"")? + "version \"".len();
    let rest = &text[start..];
    let v = &rest[..rest.find('"')?];
    let mut parts = v.split(['.', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modern_and_legacy_version_strings() {
        assert_eq!(
            parse_major("openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime"),
            Some(17)
        );
        assert_eq!(parse_major("openjdk version \"25\" 2025-09-16"), Some(25));
        assert_eq!(parse_major("java version \"1.8.0_402\""), Some(8));
        assert_eq!(parse_major("garbage"), None);
    }
}
