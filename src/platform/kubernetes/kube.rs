//! The harness's hands on a cluster: the pinned `kubectl` and `helm` the project builds, bound to
//! one kubeconfig, one context and one namespace. Every call names what it was for, so an error
//! says which step failed and what the API server answered.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::KubeError;

/// Where and as whom the harness talks to a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kube {
    /// The kubectl binary.
    pub kubectl: PathBuf,
    /// The helm binary.
    pub helm: PathBuf,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The context in it.
    pub context: String,
    /// The namespace everything of the environment lives in.
    pub namespace: String,
}

/// The outcome of a command that may fail in an expected way.
pub struct Output {
    /// Whether it exited 0.
    pub ok: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Kube {
    /// `kubectl` with the kubeconfig, context and namespace set.
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig").arg(&self.kubeconfig).args([
            "--context",
            &self.context,
            "-n",
            &self.namespace,
        ]);
        c.stdin(Stdio::null());
        c
    }

    /// `kubectl` with the kubeconfig only (for the guard: `config current-context`).
    pub fn kubectl_plain(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig").arg(&self.kubeconfig);
        c.stdin(Stdio::null());
        c
    }

    /// `helm` with the kubeconfig, context and namespace set.
    pub fn helm(&self) -> Command {
        let mut c = Command::new(&self.helm);
        c.arg("--kubeconfig").arg(&self.kubeconfig).args([
            "--kube-context",
            &self.context,
            "-n",
            &self.namespace,
        ]);
        c.stdin(Stdio::null());
        c
    }

    /// Runs kubectl with `args`; returns its output whatever its exit.
    pub fn try_run(&self, args: &[&str]) -> Result<Output, KubeError> {
        output(self.kubectl().args(args), None)
    }

    /// Runs kubectl with `args`; fails (naming `what`) unless it exits 0.
    pub fn run(&self, what: &str, args: &[&str]) -> Result<String, KubeError> {
        let o = self.try_run(args)?;
        if !o.ok {
            return Err(failed(what, &o));
        }
        Ok(o.stdout)
    }

    /// `kubectl get … -o json`, parsed.
    pub fn json(&self, what: &str, args: &[&str]) -> Result<Value, KubeError> {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        let text = self.run(what, &a)?;
        serde_json::from_str(&text).map_err(|_| KubeError::Output {
            what: what.to_string(),
            output: text.chars().take(400).collect(),
        })
    }

    /// The items of a `kubectl get <kind> -l <selector>` list.
    pub fn items(&self, what: &str, kind: &str, selector: &str) -> Result<Vec<Value>, KubeError> {
        let mut args = vec!["get", kind];
        if !selector.is_empty() {
            args.extend(["-l", selector]);
        }
        let v = self.json(what, &args)?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }

    /// `kubectl apply -f -` of one object (server-side validation and admission apply).
    pub fn apply(&self, what: &str, object: &Value) -> Result<(), KubeError> {
        let text = serde_json::to_string(object).expect("objects serialise");
        let o = output(self.kubectl().args(["apply", "-f", "-"]), Some(&text))?;
        if !o.ok {
            return Err(failed(what, &o));
        }
        Ok(())
    }

    /// Runs helm with `args`; fails unless it exits 0.
    pub fn run_helm(&self, what: &str, args: &[&str]) -> Result<String, KubeError> {
        let o = output(self.helm().args(args), None)?;
        if !o.ok {
            return Err(failed(what, &o));
        }
        Ok(o.stdout)
    }
}

/// Runs a command, feeding `stdin` when given.
pub fn output(cmd: &mut Command, stdin: Option<&str>) -> Result<Output, KubeError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| KubeError::Invalid(format!("run {program}: {e}")))?;
    if let Some(text) = stdin {
        let mut w = child.stdin.take().expect("piped");
        w.write_all(text.as_bytes())
            .map_err(|e| KubeError::Invalid(format!("write to {program}: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| KubeError::Invalid(format!("wait for {program}: {e}")))?;
    Ok(Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn failed(what: &str, o: &Output) -> KubeError {
    let text = if o.stderr.trim().is_empty() {
        o.stdout.trim()
    } else {
        o.stderr.trim()
    };
    KubeError::Output {
        what: what.to_string(),
        output: text.chars().take(1200).collect(),
    }
}

/// Whether kubectl's error says the object does not exist.
pub fn not_found(o: &Output) -> bool {
    o.stderr.contains("NotFound") || o.stderr.contains("not found")
}

/// Polls `check` every `every` until it returns Some or `timeout` passes; the error names
/// `what` and the last state `check` reported through `last`.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut(&mut String) -> Result<Option<T>, KubeError>,
) -> Result<T, KubeError> {
    let t = Instant::now();
    let mut last = String::new();
    loop {
        if let Some(v) = check(&mut last)? {
            return Ok(v);
        }
        if t.elapsed() > timeout {
            return Err(KubeError::Timeout {
                what: what.to_string(),
                secs: timeout.as_secs(),
                detail: if last.is_empty() {
                    String::new()
                } else {
                    format!(" ({last})")
                },
            });
        }
        std::thread::sleep(every);
    }
}
