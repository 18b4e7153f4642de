//! A real Kubernetes control plane without nodes, for the API-level test tier: etcd and
//! kube-apiserver (both built from the Go module proxy, the versions the kind node image
//! carries) on 127.0.0.1, with certificates made by openssl for this one start. Admission is
//! the real thing (Pod Security, RBAC objects, validation, server-side dry runs); nothing
//! schedules or runs pods.
//!
//! [`ApiServer::start`] returns once `/readyz` answers; dropping the value stops both processes
//! and removes their directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{gobuild, KubeError};
use crate::install::{steps, InstallError};
use crate::paths::Cache;

/// A running etcd + kube-apiserver.
#[derive(Debug)]
pub struct ApiServer {
    dir: PathBuf,
    etcd: Child,
    apiserver: Child,
    /// A kubeconfig with cluster-admin (a client certificate in `system:masters`).
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// kubectl, built for the host.
    pub kubectl: PathBuf,
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
fn free_port() -> Result<u16, KubeError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| InstallError::io("find a free port", "127.0.0.1:0", e))?;
    Ok(l.local_addr()
        .map_err(|e| InstallError::io("find a free port", "127.0.0.1:0", e))?
        .port())
}

fn openssl(dir: &Path, what: &str, args: &[&str]) -> Result<(), KubeError> {
    steps::run(
        what,
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null()),
    )?;
    Ok(())
}

/// The certificates: a CA, the server's (SANs 127.0.0.1 and localhost), an admin client's in
/// `system:masters`, and the service-account signing key pair.
fn make_certs(dir: &Path) -> Result<(), KubeError> {
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| InstallError::io("write a certificate extension", &ext, e))?;
    let client_ext = dir.join("client.ext");
    std::fs::write(&client_ext, "extendedKeyUsage=clientAuth\n")
        .map_err(|e| InstallError::io("write a certificate extension", &client_ext, e))?;
    openssl(
        dir,
        "make the CA key",
        &["genrsa", "-out", "ca.key", "2048"],
    )?;
    openssl(
        dir,
        "make the CA",
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=chaos-test-ca",
            "-days",
            "2",
            "-out",
            "ca.crt",
        ],
    )?;
    for (name, subject, ext) in [
        ("server", "/CN=kube-apiserver", "server.ext"),
        ("admin", "/CN=chaos-admin/O=system:masters", "client.ext"),
    ] {
        openssl(
            dir,
            "make a key",
            &["genrsa", "-out", &format!("{name}.key"), "2048"],
        )?;
        openssl(
            dir,
            "make a signing request",
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-out",
                &format!("{name}.csr"),
            ],
        )?;
        openssl(
            dir,
            "sign a certificate",
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                ext,
                "-out",
                &format!("{name}.crt"),
            ],
        )?;
    }
    openssl(
        dir,
        "make the service-account key",
        &["genrsa", "-out", "sa.key", "2048"],
    )?;
    openssl(
        dir,
        "derive the service-account public key",
        &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
    )?;
    Ok(())
}

fn spawn(what: &str, cmd: &mut Command, log: &Path) -> Result<Child, KubeError> {
    let out = std::fs::File::create(log).map_err(|e| InstallError::io("create a log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| InstallError::io("create a log", log, e))?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| InstallError::io(format!("start {what}"), "", e).into())
}

fn kubeconfig_text(url: &str, dir: &Path) -> String {
    let p = |f: &str| dir.join(f).display().to_string();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: chaos-test\n  cluster:\n    server: {url}\n    \
         certificate-authority: {}\nusers:\n- name: admin\n  user:\n    client-certificate: {}\n    \
         client-key: {}\ncontexts:\n- name: chaos-test\n  context:\n    cluster: chaos-test\n    \
         user: admin\ncurrent-context: chaos-test\n",
        p("ca.crt"),
        p("admin.crt"),
        p("admin.key")
    )
}

impl ApiServer {
    /// Builds (first time) and starts etcd and kube-apiserver under `dir` (created; removed
    /// on drop), returning once the API server is ready.
    pub fn start(cache: &Cache, dir: &Path) -> Result<ApiServer, KubeError> {
        let etcd_bin = gobuild::ensure_etcd(cache)?;
        let w = gobuild::kubernetes_wrapper_cached(cache)?;
        let apiserver_bin = gobuild::ensure_wrapped(
            cache,
            &w,
            "kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-apiserver",
            &gobuild::kubernetes_ldflags(),
        )?;
        let kubectl = gobuild::ensure_kubectl(cache)?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| InstallError::io("create the API server's directory", dir, e))?;
        make_certs(dir)?;
        let (client, peer, secure) = (free_port()?, free_port()?, free_port()?);
        let mut etcd = spawn(
            "etcd",
            Command::new(&etcd_bin)
                .arg("--name=chaos-test")
                .arg(format!("--data-dir={}", dir.join("etcd").display()))
                .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
                ))
                .arg(format!(
                    "--initial-cluster=chaos-test=http://127.0.0.1:{peer}"
                ))
                .arg("--log-level=warn"),
            &dir.join("etcd.log"),
        )?;
        let c = |f: &str| dir.join(f).display().to_string();
        let apiserver = spawn(
            "kube-apiserver",
            Command::new(&apiserver_bin)
                .arg(format!("--etcd-servers=http://127.0.0.1:{client}"))
                .arg("--bind-address=127.0.0.1")
                .arg("--advertise-address=127.0.0.1")
                .arg(format!("--secure-port={secure}"))
                .arg(format!("--cert-dir={}", c("certs")))
                .arg(format!("--tls-cert-file={}", c("server.crt")))
                .arg(format!("--tls-private-key-file={}", c("server.key")))
                .arg(format!("--client-ca-file={}", c("ca.crt")))
                .arg(format!("--service-account-key-file={}", c("sa.pub")))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    c("sa.key")
                ))
                .arg("--service-account-issuer=https://kubernetes.default.svc")
                .arg("--service-cluster-ip-range=10.96.0.0/16")
                .arg("--authorization-mode=Node,RBAC")
                // 127.0.0.1 is loopback: without this the API server refuses to start.
                .arg("--endpoint-reconciler-type=none")
                // Else a privileged pod is refused before Pod Security judges it.
                .arg("--allow-privileged=true")
                .arg("--v=1"),
            &dir.join("kube-apiserver.log"),
        );
        let apiserver = match apiserver {
            Ok(a) => a,
            Err(e) => {
                let _ = etcd.kill();
                let _ = etcd.wait();
                return Err(e);
            }
        };
        let url = format!("https://127.0.0.1:{secure}");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&url, dir))
            .map_err(|e| InstallError::io("write the kubeconfig", &kubeconfig, e))?;
        let mut s = ApiServer {
            dir: dir.to_path_buf(),
            etcd,
            apiserver,
            kubeconfig,
            url,
            kubectl,
        };
        s.wait_ready(Duration::from_secs(120))?;
        Ok(s)
    }

    /// A kubectl command against this API server.
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig").arg(&self.kubeconfig);
        c
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), KubeError> {
        let deadline = Instant::now() + timeout;
        loop {
            let ok = self
                .kubectl()
                .args(["get", "--raw=/readyz"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            for (name, child) in [
                ("etcd", &mut self.etcd),
                ("kube-apiserver", &mut self.apiserver),
            ] {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(KubeError::Output {
                        what: format!("{name} exited ({status})"),
                        output: log_tail(&self.dir.join(format!("{name}.log"))),
                    });
                }
            }
            if Instant::now() > deadline {
                return Err(KubeError::Output {
                    what: format!("kube-apiserver not ready after {}s", timeout.as_secs()),
                    output: log_tail(&self.dir.join("kube-apiserver.log")),
                });
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn log_tail(p: &Path) -> String {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        for child in [&mut self.apiserver, &mut self.etcd] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_names_the_admin_certificate_and_the_ca() {
        let k = kubeconfig_text("https://127.0.0.1:6443", Path::new("/d"));
        assert!(k.contains("server: https://127.0.0.1:6443"));
        assert!(k.contains("certificate-authority: /d/ca.crt"));
        assert!(k.contains("client-certificate: /d/admin.crt"));
        assert!(k.contains("client-key: /d/admin.key"));
        assert!(k.contains("current-context: chaos-test"));
    }
}
