//! Resolving Maven artifacts (with their runtime dependencies) into the cache.
//!
//! Everything goes through the machine's own `mvn` (so its mirror and proxy settings apply)
//! with a local repository inside the cache (`<cache>/m2`), never `~/.m2`:
//!
//! - [`resolve`] writes a generated `pom.xml` under `<cache>/maven/<name>/` that depends on the
//!   given artifacts, and runs `maven-dependency-plugin`'s `copy-dependencies` goal to fill
//!   `<cache>/maven/<name>/jars/` with them and their runtime dependencies.
//! - [`fetch`] copies one artifact file (e.g. a `-bin.tar.gz` distribution) into
//!   `<cache>/downloads/`, and [`fetch_unpacked`] also unpacks it.
//!
//! Every step is idempotent: a marker file records a hash of the inputs, and a second call with
//! the same inputs neither runs Maven nor downloads anything. Maven's download lines are shown
//! on stderr, one short line per file (see [`resolve_with`] to send them elsewhere), and its
//! full output is kept in `mvn.log` beside the pom.

use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::paths::Cache;

/// The pinned `maven-dependency-plugin` (Maven 3.8's default, 2.8, is too old for `copy` by
/// coordinates and for wildcard exclusions).
pub const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1";

/// Bumped when the layout of what [`resolve`] produces changes, to invalidate old markers.
const MARKER_FORMAT: &str = "spark-chaos maven resolve v1";

/// The marker file inside a resolved directory, holding the hash of its inputs.
const MARKER: &str = ".resolved";

/// How to get the tools this module runs.
const INSTALL_HINT: &str = "install them with `apt-get install maven openjdk-17-jdk-headless`";

/// Errors from resolving or fetching Maven artifacts.
#[derive(Debug, thiserror::Error)]
pub enum MavenError {
    /// A required program is not installed.
    #[error("find `{tool}` on PATH ({hint})")]
    MissingTool {
        /// The program looked for.
        tool: &'static str,
        /// How to install it.
        hint: &'static str,
    },
    /// Reading or writing a file or directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `write`.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Starting a program failed.
    #[error("run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Maven ran and failed.
    #[error("resolve `{name}` with Maven (exit {status}; full log in {log}){}", summary_suffix(.errors))]
    Maven {
        /// The resolution's name (or the artifact fetched).
        name: String,
        /// Maven's exit status.
        status: String,
        /// Maven's full output.
        log: PathBuf,
        /// Maven's `[ERROR]` lines, the most telling part of its output.
        errors: Vec<String>,
    },
    /// Maven reported success but the expected file is not there.
    #[error("find {path} after Maven copied `{artifact}`")]
    Missing {
        /// The artifact coordinates.
        artifact: String,
        /// Where it should have been.
        path: PathBuf,
    },
    /// Unpacking an archive failed.
    #[error("unpack {archive} (tar exit {status}): {stderr}")]
    Unpack {
        /// The archive.
        archive: PathBuf,
        /// tar's exit status.
        status: String,
        /// What tar said.
        stderr: String,
    },
    /// A resolution name that is not a plain directory name.
    #[error("use `{0}` as a resolution name (only letters, digits, `.`, `_` and `-` are allowed)")]
    BadName(String),
}

fn summary_suffix(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(":\n  {}", errors.join("\n  "))
    }
}

/// One Maven artifact, by coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Artifact {
    /// The group id, e.g. `org.apache.hadoop`.
    pub group: String,
    /// The artifact id, e.g. `hadoop-aws`.
    pub artifact: String,
    /// The exact version.
    pub version: String,
    /// The classifier, e.g. `bin`.
    pub classifier: Option<String>,
    /// The type (packaging extension): `jar`, `tar.gz`, `pom`...
    pub kind: String,
}

impl Artifact {
    /// A plain jar artifact.
    pub fn jar(group: &str, artifact: &str, version: &str) -> Artifact {
        Artifact {
            group: group.to_string(),
            artifact: artifact.to_string(),
            version: version.to_string(),
            classifier: None,
            kind: "jar".to_string(),
        }
    }

    /// The same artifact with a classifier.
    pub fn with_classifier(mut self, classifier: &str) -> Artifact {
        self.classifier = Some(classifier.to_string());
        self
    }

    /// The same artifact with another type, e.g. `tar.gz`.
    pub fn with_kind(mut self, kind: &str) -> Artifact {
        self.kind = kind.to_string();
        self
    }

    /// A bill of materials: a `pom` artifact whose `dependencyManagement` pins the versions of
    /// everything resolved with it (as the project that published it was built).
    pub fn bom(group: &str, artifact: &str, version: &str) -> Artifact {
        Artifact::jar(group, artifact, version).with_kind("pom")
    }

    /// Whether [`resolve`] imports this artifact as a bill of materials rather than depending
    /// on it: every classifier-less `pom` artifact.
    pub fn is_bom(&self) -> bool {
        self.kind == "pom" && self.classifier.is_none()
    }

    /// The file name Maven gives it: `artifact-version[-classifier].kind`.
    pub fn file_name(&self) -> String {
        match &self.classifier {
            Some(c) => format!("{}-{}-{}.{}", self.artifact, self.version, c, self.kind),
            None => format!("{}-{}.{}", self.artifact, self.version, self.kind),
        }
    }
}

/// `group:artifact:version[:kind[:classifier]]`, the form `dependency:copy -Dartifact=` takes.
impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.group, self.artifact, self.version)?;
        match &self.classifier {
            Some(c) => write!(f, ":{}:{}", self.kind, c),
            None if self.kind != "jar" => write!(f, ":{}", self.kind),
            None => Ok(()),
        }
    }
}

/// Resolves `artifacts` and their runtime dependencies into `<cache>/maven/<name>/jars/`,
/// leaving out every dependency matching one of `excludes` (`group:artifact`, `*` allowed as
/// either part), and returns that directory. `pom` artifacts ([`Artifact::bom`]) are not
/// copied but imported into `dependencyManagement`, pinning transitive versions; a version
/// given directly in `artifacts` still wins. Maven's download lines go to stderr.
///
/// Idempotent: when the directory was already resolved from the same inputs, returns at once
/// without running Maven.
pub fn resolve(
    cache: &Cache,
    name: &str,
    artifacts: &[Artifact],
    excludes: &[&str],
) -> Result<PathBuf, MavenError> {
    resolve_with(cache, name, artifacts, excludes, &mut |line| {
        eprintln!("{line}")
    })
}

/// [`resolve`], sending the short progress lines to `progress` instead of stderr.
pub fn resolve_with(
    cache: &Cache,
    name: &str,
    artifacts: &[Artifact],
    excludes: &[&str],
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, MavenError> {
    check_name(name)?;
    let dir = cache.maven_dir(name);
    let jars = dir.join("jars");
    let pom = render_pom(name, artifacts, excludes);
    let hash = marker_hash(&pom);
    let marker = dir.join(MARKER);
    if is_current(&marker, &hash) && jars.is_dir() {
        return Ok(jars);
    }

    let mvn = require_tools()?;
    create_dir(&dir)?;
    // A previous, different resolution (or an interrupted one) may have left jars that the
    // new inputs no longer want.
    remove_file_if_exists(&marker)?;
    remove_dir_if_exists(&jars)?;
    let pom_path = dir.join("pom.xml");
    write_file(&pom_path, pom.as_bytes())?;

    progress(&format!(
        "resolving {name} ({} artifacts) with Maven",
        artifacts.len()
    ));
    let cmd = || {
        let mut cmd = maven(&mvn, cache);
        cmd.arg("-f")
            .arg(&pom_path)
            .arg(format!("{DEPENDENCY_PLUGIN}:copy-dependencies"))
            .arg(format!("-DoutputDirectory={}", jars.display()))
            .arg("-DincludeScope=runtime")
            .arg("-DexcludeTypes=pom")
            .arg("-Dmdep.overWriteReleases=true")
            .current_dir(&dir);
        cmd
    };
    run_maven_retrying(cmd, name, &dir.join("mvn.log"), progress)?;

    let count = fs::read_dir(&jars)
        .map_err(|e| io_err("read", &jars, e))?
        .count();
    write_file(&marker, format!("{hash}\n").as_bytes())?;
    progress(&format!(
        "resolved {name}: {count} jars in {}",
        jars.display()
    ));
    Ok(jars)
}

/// Copies one artifact file (no dependencies) into `<cache>/downloads/` and returns its path.
/// Idempotent: an already fetched file is returned at once.
pub fn fetch(cache: &Cache, artifact: &Artifact) -> Result<PathBuf, MavenError> {
    fetch_with(cache, artifact, &mut |line| eprintln!("{line}"))
}

/// [`fetch`], sending the short progress lines to `progress` instead of stderr.
pub fn fetch_with(
    cache: &Cache,
    artifact: &Artifact,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, MavenError> {
    let downloads = cache.downloads();
    let target = downloads.join(artifact.file_name());
    if target.is_file() {
        return Ok(target);
    }
    let mvn = require_tools()?;
    // Maven writes in place; copy into a private directory and rename, so that an interrupted
    // run never leaves a truncated file under the final name.
    let staging = downloads.join(format!(".mvn-{}", artifact.file_name()));
    remove_dir_if_exists(&staging)?;
    create_dir(&staging)?;
    progress(&format!("fetching {artifact} with Maven"));
    let cmd = || {
        let mut cmd = maven(&mvn, cache);
        cmd.arg(format!("{DEPENDENCY_PLUGIN}:copy"))
            .arg(format!("-Dartifact={artifact}"))
            .arg(format!("-DoutputDirectory={}", staging.display()))
            .current_dir(&staging);
        cmd
    };
    let log = downloads.join(format!("{}.mvn.log", artifact.file_name()));
    run_maven_retrying(cmd, &artifact.to_string(), &log, progress)?;
    let copied = staging.join(artifact.file_name());
    if !copied.is_file() {
        return Err(MavenError::Missing {
            artifact: artifact.to_string(),
            path: copied,
        });
    }
    fs::rename(&copied, &target).map_err(|e| io_err("rename into place", &target, e))?;
    remove_dir_if_exists(&staging)?;
    Ok(target)
}

/// Fetches a `.tar.gz` (or `.tgz`) artifact with [`fetch`] and unpacks it into `dest`, which
/// afterwards holds the archive's top-level entries. Idempotent: a `dest` unpacked from the
/// same archive is returned at once.
pub fn fetch_unpacked(
    cache: &Cache,
    artifact: &Artifact,
    dest: &Path,
) -> Result<PathBuf, MavenError> {
    let archive = fetch(cache, artifact)?;
    unpack_tar_gz(&archive, dest)?;
    Ok(dest.to_path_buf())
}

/// Unpacks a gzipped tarball into `dest` with the system `tar`, through a staging directory
/// renamed into place. Idempotent (a marker in `dest` names the archive it came from).
pub fn unpack_tar_gz(archive: &Path, dest: &Path) -> Result<(), MavenError> {
    let stamp = marker_hash(&archive.display().to_string());
    let marker = dest.join(MARKER);
    if is_current(&marker, &stamp) {
        return Ok(());
    }
    let parent = dest.parent().unwrap_or_else(|| Path::new("."));
    create_dir(parent)?;
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = parent.join(format!(".unpack-{file_name}"));
    remove_dir_if_exists(&staging)?;
    create_dir(&staging)?;
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(&staging)
        .output()
        .map_err(|e| MavenError::Spawn {
            program: "tar".into(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(MavenError::Unpack {
            archive: archive.to_path_buf(),
            status: crate::install::steps::exit_text(&out.status),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    write_file(&staging.join(MARKER), format!("{stamp}\n").as_bytes())?;
    remove_dir_if_exists(dest)?;
    fs::rename(&staging, dest).map_err(|e| io_err("rename into place", dest, e))?;
    Ok(())
}

/// The generated pom: a `pom`-packaged project depending on every artifact, each with every
/// exclusion. Pure; its text is also the input of the marker hash.
pub fn render_pom(name: &str, artifacts: &[Artifact], excludes: &[&str]) -> String {
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<!-- Generated by spark-chaos; rewritten on every resolution. -->\n");
    s.push_str("<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n");
    s.push_str("  <modelVersion>4.0.0</modelVersion>\n");
    s.push_str("  <groupId>spark-chaos.generated</groupId>\n");
    s.push_str(&format!(
        "  <artifactId>{}</artifactId>\n",
        xml_escape(name)
    ));
    s.push_str("  <version>0</version>\n");
    s.push_str("  <packaging>pom</packaging>\n");
    let (boms, deps): (Vec<&Artifact>, Vec<&Artifact>) = artifacts.iter().partition(|a| a.is_bom());
    if !boms.is_empty() {
        s.push_str("  <dependencyManagement>\n    <dependencies>\n");
        for b in boms {
            s.push_str(&format!(
                "      <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version><type>pom</type><scope>import</scope></dependency>\n",
                xml_escape(&b.group),
                xml_escape(&b.artifact),
                xml_escape(&b.version)
            ));
        }
        s.push_str("    </dependencies>\n  </dependencyManagement>\n");
    }
    s.push_str("  <dependencies>\n");
    for a in deps {
        s.push_str("    <dependency>\n");
        s.push_str(&format!(
            "      <groupId>{}</groupId>\n",
            xml_escape(&a.group)
        ));
        s.push_str(&format!(
            "      <artifactId>{}</artifactId>\n",
            xml_escape(&a.artifact)
        ));
        s.push_str(&format!(
            "      <version>{}</version>\n",
            xml_escape(&a.version)
        ));
        if let Some(c) = &a.classifier {
            s.push_str(&format!(
                "      <classifier>{}</classifier>\n",
                xml_escape(c)
            ));
        }
        if a.kind != "jar" {
            s.push_str(&format!("      <type>{}</type>\n", xml_escape(&a.kind)));
        }
        if !excludes.is_empty() {
            s.push_str("      <exclusions>\n");
            for e in excludes {
                let (g, art) = e.split_once(':').unwrap_or((e, "*"));
                s.push_str(&format!(
                    "        <exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>\n",
                    xml_escape(g),
                    xml_escape(art)
                ));
            }
            s.push_str("      </exclusions>\n");
        }
        s.push_str("    </dependency>\n");
    }
    s.push_str("  </dependencies>\n");
    s.push_str("</project>\n");
    s
}

/// The marker hash of a resolution's inputs (the rendered pom, which names every input, plus
/// the plugin version and the layout version): hex SHA-256.
pub fn marker_hash(inputs: &str) -> String {
    let mut h = Sha256::new();
    h.update(MARKER_FORMAT.as_bytes());
    h.update(b"\n");
    h.update(DEPENDENCY_PLUGIN.as_bytes());
    h.update(b"\n");
    h.update(inputs.as_bytes());
    hex::encode(h.finalize())
}

/// Turns one line of Maven's batch-mode output into a short progress line, or `None` for
/// lines not worth showing. Shown: finished downloads of real files (not poms or checksums),
/// as `  downloaded NAME (SIZE)`, and `[ERROR]` lines.
pub fn compact_line(line: &str) -> Option<String> {
    let line = strip_ansi(line);
    let line = line.trim_end();
    let line = line.strip_prefix("[INFO] ").unwrap_or(line);
    if let Some(rest) = line.strip_prefix("Downloaded from ") {
        // "Downloaded from central: https://.../hadoop-aws-3.3.4.jar (97 kB at 1.2 MB/s)"
        let (_, rest) = rest.split_once(": ")?;
        let (url, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let file = url.rsplit('/').next()?;
        if file.ends_with(".pom")
            || file.ends_with(".sha1")
            || file.ends_with(".md5")
            || file.ends_with(".xml")
        {
            return None;
        }
        let size = tail
            .trim_start_matches('(')
            .split(" at ")
            .next()
            .unwrap_or("")
            .trim_end_matches(')');
        return Some(if size.is_empty() {
            format!("  downloaded {file}")
        } else {
            format!("  downloaded {file} ({size})")
        });
    }
    line.strip_prefix("[ERROR] ")
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!("  mvn: {r}"))
}

/// `line` without ANSI escape sequences (Maven 3.8 emits a colour reset even in batch mode).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters... final byte in @..~
            if chars.next() == Some('[') {
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How many times a Maven command is tried before its failure is final.
const MAVEN_ATTEMPTS: u32 = 3;

/// `mvn` in batch mode on the cache's repository, with network timeouts: Maven's own default
/// lets a stalled download hang for 30 minutes (seen here: the 280 MB AWS SDK bundle stopped
/// at 16 MB), where two minutes without a byte now fail the attempt.
fn maven(mvn: &Path, cache: &Cache) -> Command {
    let mut cmd = Command::new(mvn);
    cmd.arg("-B")
        .arg("-Dstyle.color=never")
        .arg(format!(
            "-Dmaven.repo.local={}",
            cache.maven_repo().display()
        ))
        .arg("-Dmaven.wagon.rx.timeout=120000")
        .arg("-Dmaven.wagon.http.retryHandler.count=3")
        .arg("-Daether.connector.connectTimeout=30000")
        .arg("-Daether.connector.requestTimeout=120000");
    cmd
}

/// [`run_maven`] up to [`MAVEN_ATTEMPTS`] times (a fresh command each time), for transfers
/// that stall or break; what Maven already downloaded stays in the repository.
fn run_maven_retrying(
    cmd: impl Fn() -> Command,
    name: &str,
    log_path: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), MavenError> {
    let mut attempt = 1;
    loop {
        match run_maven(cmd(), name, log_path, progress) {
            Err(MavenError::Maven { .. })
                if attempt < MAVEN_ATTEMPTS && !crate::interrupt::interrupted() =>
            {
                progress(&format!(
                    "Maven failed on {name} (attempt {attempt} of {MAVEN_ATTEMPTS}); trying again"
                ));
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn run_maven(
    mut cmd: Command,
    name: &str,
    log_path: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), MavenError> {
    let mut log = fs::File::create(log_path).map_err(|e| io_err("create", log_path, e))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| MavenError::Spawn {
            program: "mvn".into(),
            source: e,
        })?;
    // Maven prints everything to stdout; the JVM may warn on stderr. Drain stderr on a thread
    // so that neither pipe can fill up and stall the build.
    let stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut s) = stderr {
            // Best effort: stderr is only kept for the log.
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let mut errors = Vec::new();
    let mut downloads = 0usize;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| io_err("read Maven output for", log_path, e))?;
            writeln!(log, "{line}").map_err(|e| io_err("write", log_path, e))?;
            let plain = strip_ansi(&line);
            if plain
                .trim_start_matches("[INFO] ")
                .starts_with("Downloaded from ")
            {
                downloads += 1;
            }
            if let Some(short) = compact_line(&plain) {
                if let Some(error) = plain.strip_prefix("[ERROR] ") {
                    errors.push(error.to_string());
                } else {
                    progress(&short);
                }
            }
        }
    }
    let status = child.wait().map_err(|e| MavenError::Spawn {
        program: "mvn".into(),
        source: e,
    })?;
    let stderr_bytes = stderr_reader.join().unwrap_or_default();
    if !stderr_bytes.is_empty() {
        log.write_all(&stderr_bytes)
            .map_err(|e| io_err("write", log_path, e))?;
    }
    if !status.success() {
        // Maven's help footer ("To see the full stack trace...", "[Help 1]" links) adds nothing.
        errors.retain(|l| {
            !l.is_empty()
                && !l.starts_with("To see")
                && !l.starts_with("Re-run")
                && !l.contains("[Help 1]")
        });
        errors.truncate(12);
        return Err(MavenError::Maven {
            name: name.to_string(),
            status: crate::install::steps::exit_text(&status),
            log: log_path.to_path_buf(),
            errors,
        });
    }
    if downloads > 0 {
        progress(&format!("  {downloads} files downloaded"));
    }
    Ok(())
}

/// Checks that `mvn` and `java` are installed and returns `mvn`'s path.
fn require_tools() -> Result<PathBuf, MavenError> {
    let java_ok = std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin").join("java").is_file())
        .unwrap_or(false)
        || find_on_path("java").is_some();
    if !java_ok {
        return Err(MavenError::MissingTool {
            tool: "java",
            hint: INSTALL_HINT,
        });
    }
    find_on_path("mvn").ok_or(MavenError::MissingTool {
        tool: "mvn",
        hint: INSTALL_HINT,
    })
}

/// The first executable file called `name` in a directory of `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

fn check_name(name: &str) -> Result<(), MavenError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(MavenError::BadName(name.to_string()))
    }
}

fn is_current(marker: &Path, hash: &str) -> bool {
    fs::read_to_string(marker)
        .map(|s| s.trim() == hash)
        .unwrap_or(false)
}

use crate::text::xml_escape;

fn io_err(action: &'static str, path: &Path, source: std::io::Error) -> MavenError {
    MavenError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn create_dir(path: &Path) -> Result<(), MavenError> {
    fs::create_dir_all(path).map_err(|e| io_err("create directory", path, e))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), MavenError> {
    fs::write(path, bytes).map_err(|e| io_err("write", path, e))
}

fn remove_file_if_exists(path: &Path) -> Result<(), MavenError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", path, e)),
        _ => Ok(()),
    }
}

fn remove_dir_if_exists(path: &Path) -> Result<(), MavenError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Artifact> {
        vec![
            Artifact::jar("org.apache.hadoop", "hadoop-aws", "3.3.4"),
            Artifact::jar("org.apache.hive", "hive-standalone-metastore", "3.1.3")
                .with_classifier("bin")
                .with_kind("tar.gz"),
        ]
    }

    /// A stand-in for `mvn` that fails until it has been run `fail_first` times.
    fn flaky(dir: &Path, fail_first: u32) -> impl Fn() -> Command {
        let count = dir.join("runs");
        move || {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!(
                    "echo run >> {0}; n=$(wc -l < {0}); \
                     if [ \"$n\" -le {fail_first} ]; then echo '[ERROR] Could not transfer artifact'; exit 1; fi; \
                     echo '[INFO] BUILD SUCCESS'",
                    count.display()
                ));
            c
        }
    }

    fn runs(dir: &Path) -> usize {
        fs::read_to_string(dir.join("runs")).map_or(0, |t| t.lines().count())
    }

    #[test]
    fn a_failed_maven_run_is_tried_again_up_to_three_times() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mvn.log");
        let mut said = Vec::new();
        run_maven_retrying(flaky(dir.path(), 2), "x", &log, &mut |l| {
            said.push(l.to_string())
        })
        .expect("the third attempt succeeds");
        assert_eq!(runs(dir.path()), 3);
        assert!(
            said.iter().any(|l| l.contains("attempt 2 of 3")),
            "{said:?}"
        );

        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mvn.log");
        let e = run_maven_retrying(flaky(dir.path(), 9), "x", &log, &mut |_| {}).unwrap_err();
        assert_eq!(runs(dir.path()), MAVEN_ATTEMPTS as usize);
        assert!(matches!(e, MavenError::Maven { .. }), "{e}");
        assert!(e.to_string().contains("Could not transfer artifact"), "{e}");
    }

    #[test]
    fn coordinates_and_file_names_follow_maven() {
        let [jar, tar] = <[Artifact; 2]>::try_from(sample()).unwrap();
        assert_eq!(jar.to_string(), "org.apache.hadoop:hadoop-aws:3.3.4");
        assert_eq!(jar.file_name(), "hadoop-aws-3.3.4.jar");
        assert_eq!(
            tar.to_string(),
            "org.apache.hive:hive-standalone-metastore:3.1.3:tar.gz:bin"
        );
        assert_eq!(
            tar.file_name(),
            "hive-standalone-metastore-3.1.3-bin.tar.gz"
        );
        assert_eq!(
            Artifact::jar("g", "a", "1").with_kind("pom").to_string(),
            "g:a:1:pom"
        );
    }

    #[test]
    fn pom_lists_every_artifact_with_every_exclusion() {
        let pom = render_pom("hms-3.1.3", &sample(), &["log4j:log4j", "org.slf4j"]);
        assert!(pom.contains("<artifactId>hms-3.1.3</artifactId>"));
        assert!(pom.contains("<packaging>pom</packaging>"));
        assert_eq!(pom.matches("<dependency>").count(), 2);
        assert!(pom.contains(
            "      <groupId>org.apache.hadoop</groupId>\n      <artifactId>hadoop-aws</artifactId>\n      <version>3.3.4</version>\n      <exclusions>"
        ));
        assert!(pom.contains("<classifier>bin</classifier>\n      <type>tar.gz</type>"));
        assert_eq!(
            pom.matches(
                "<exclusion><groupId>log4j</groupId><artifactId>log4j</artifactId></exclusion>"
            )
            .count(),
            2
        );
        // A bare group excludes all of its artifacts.
        assert!(pom.contains(
            "<exclusion><groupId>org.slf4j</groupId><artifactId>*</artifactId></exclusion>"
        ));
        // A jar gets no <type>, and no exclusions means no <exclusions>.
        let plain = render_pom("x", &sample()[..1], &[]);
        assert!(!plain.contains("<type>"));
        assert!(!plain.contains("<exclusions>"));
    }

    #[test]
    fn pom_artifacts_are_imported_as_boms() {
        let arts = vec![
            Artifact::bom("org.apache.hive", "hive-standalone-metastore", "4.0.0"),
            Artifact::jar("g", "a", "1"),
        ];
        let pom = render_pom("x", &arts, &[]);
        assert!(pom.contains(
            "  <dependencyManagement>\n    <dependencies>\n      <dependency><groupId>org.apache.hive</groupId><artifactId>hive-standalone-metastore</artifactId><version>4.0.0</version><type>pom</type><scope>import</scope></dependency>\n    </dependencies>\n  </dependencyManagement>\n"
        ));
        assert_eq!(pom.matches("<dependency>").count(), 2);
        assert!(!render_pom("x", &arts[1..], &[]).contains("dependencyManagement"));
    }

    #[test]
    fn pom_escapes_xml() {
        let pom = render_pom("x", &[Artifact::jar("g&<", "a", "1\"")], &[]);
        assert!(pom.contains("<groupId>g&amp;&lt;</groupId>"));
        assert!(pom.contains("<version>1&quot;</version>"));
    }

    #[test]
    fn marker_hash_is_stable_and_input_sensitive() {
        let a = render_pom("x", &sample(), &["log4j:log4j"]);
        let b = render_pom("x", &sample(), &["log4j:log4j"]);
        let c = render_pom("x", &sample(), &[]);
        assert_eq!(marker_hash(&a), marker_hash(&b));
        assert_ne!(marker_hash(&a), marker_hash(&c));
        assert_eq!(marker_hash(&a).len(), 64);
        assert!(marker_hash(&a).chars().all(|ch| ch.is_ascii_hexdigit()));
    }

    #[test]
    fn marker_round_trip_decides_currency() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join(MARKER);
        assert!(!is_current(&marker, "abc"));
        fs::write(&marker, "abc\n").unwrap();
        assert!(is_current(&marker, "abc"));
        assert!(!is_current(&marker, "abd"));
    }

    #[test]
    fn already_resolved_directory_is_returned_without_maven() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let arts = sample();
        let jars = cache.maven_dir("n").join("jars");
        fs::create_dir_all(&jars).unwrap();
        let hash = marker_hash(&render_pom("n", &arts, &[]));
        fs::write(cache.maven_dir("n").join(MARKER), format!("{hash}\n")).unwrap();
        let mut lines = Vec::new();
        let got =
            resolve_with(&cache, "n", &arts, &[], &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(got, jars);
        assert!(lines.is_empty(), "nothing should run: {lines:?}");
    }

    #[test]
    fn names_must_be_plain() {
        assert!(check_name("hms-3.1.3").is_ok());
        for bad in ["", "..", "a/b", "a b"] {
            assert!(
                matches!(check_name(bad), Err(MavenError::BadName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn compact_lines_keep_files_and_errors_only() {
        assert_eq!(
            compact_line("Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/hadoop/hadoop-aws/3.3.4/hadoop-aws-3.3.4.jar (97 kB at 1.2 MB/s)"),
            Some("  downloaded hadoop-aws-3.3.4.jar (97 kB)".to_string())
        );
        assert_eq!(
            compact_line("Downloaded from central: https://x/y/a-1.pom (2 kB at 9 kB/s)"),
            None
        );
        // Maven 3.8's batch mode prefixes [INFO] and may start with a colour reset.
        assert_eq!(
            compact_line(
                "\u{1b}[0m[INFO] Downloaded from central: https://x/y/a-1.tar.gz (9 MB at 1 MB/s)"
            ),
            Some("  downloaded a-1.tar.gz (9 MB)".to_string())
        );
        assert_eq!(
            compact_line("Downloading from central: https://x/y/a-1.jar"),
            None
        );
        assert_eq!(compact_line("[INFO] BUILD SUCCESS"), None);
        assert_eq!(
            compact_line("[ERROR] Failed to execute goal"),
            Some("  mvn: Failed to execute goal".to_string())
        );
        assert_eq!(compact_line("[ERROR] "), None);
    }

    #[test]
    fn errors_read_after_failed_to() {
        let e = MavenError::MissingTool {
            tool: "mvn",
            hint: INSTALL_HINT,
        };
        assert_eq!(
            e.to_string(),
            "find `mvn` on PATH (install them with `apt-get install maven openjdk-17-jdk-headless`)"
        );
        let e = MavenError::Maven {
            name: "hms".into(),
            status: "1".into(),
            log: "/c/mvn.log".into(),
            errors: vec!["Could not find artifact g:a:1".into()],
        };
        assert_eq!(
            e.to_string(),
            "resolve `hms` with Maven (exit 1; full log in /c/mvn.log):\n  Could not find artifact g:a:1"
        );
    }
}
