//! The control channel of a proxy that runs away from the harness (`chaos agent proxy`, the
//! fault proxy as a pod in front of MinIO on Kubernetes): one JSON request per connection, one
//! JSON reply, over TCP on the agent's loopback. The harness reaches it through
//! `kubectl exec <pod> -- chaos agent toxic '<request>'`, so the channel is never exposed
//! outside the pod.
//!
//! Toxics are named by a **key** the harness chooses (`<fault id>/<n>`), which makes every
//! request idempotent: adding a key that is present changes nothing, removing one that is gone
//! is fine. A harness that died mid-fault is cleaned up by listing the keys and removing those
//! its ledger does not know.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use super::{ProxyHandle, ProxyStats, ToxicId, ToxicSpec};

/// A request to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ControlRequest {
    /// Add `toxic` to the proxy of `link` under `key` (nothing happens when `key` is present).
    Add {
        /// The caller's name for it.
        key: String,
        /// The link (`s3`, `history-s3`).
        link: String,
        /// The toxic.
        toxic: ToxicSpec,
    },
    /// Remove the toxic named `key` (fine when there is none).
    Remove {
        /// The caller's name for it.
        key: String,
    },
    /// List the toxics and every link's counters.
    List,
}

/// One toxic in force, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyedToxic {
    /// The caller's name for it.
    pub key: String,
    /// The link it is on.
    pub link: String,
    /// The toxic.
    pub toxic: ToxicSpec,
}

/// The agent's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the request was done.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The toxics in force after the request.
    #[serde(default)]
    pub toxics: Vec<KeyedToxic>,
    /// Every link's counters after the request.
    #[serde(default)]
    pub links: BTreeMap<String, ProxyStats>,
}

/// The proxies an agent runs, by link, and the keys of their toxics.
pub struct Agent {
    proxies: BTreeMap<String, ProxyHandle>,
    keys: Mutex<BTreeMap<String, (String, ToxicId, ToxicSpec)>>,
}

impl Agent {
    /// An agent over running proxies (link → proxy).
    pub fn new(proxies: BTreeMap<String, ProxyHandle>) -> Arc<Agent> {
        Arc::new(Agent {
            proxies,
            keys: Mutex::new(BTreeMap::new()),
        })
    }

    /// Does one request.
    pub async fn handle(&self, request: ControlRequest) -> ControlReply {
        let mut keys = self.keys.lock().await;
        let outcome = match request {
            ControlRequest::Add { key, link, toxic } => match keys.entry(key) {
                Entry::Occupied(_) => Ok(()),
                Entry::Vacant(slot) => match self.proxies.get(&link) {
                    Some(proxy) => match proxy.add(toxic.clone()).await {
                        Ok(id) => {
                            slot.insert((link, id, toxic));
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    None => Err(format!(
                        "no link `{link}` here; links: {}",
                        self.proxies.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                },
            },
            ControlRequest::Remove { key } => match keys.get(&key).cloned() {
                None => Ok(()),
                Some((link, id, _)) => match self.proxies[&link].remove(id).await {
                    Ok(_) => {
                        keys.remove(&key);
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                },
            },
            ControlRequest::List => Ok(()),
        };
        ControlReply {
            ok: outcome.is_ok(),
            error: outcome.err(),
            toxics: keys
                .iter()
                .map(|(key, (link, _, toxic))| KeyedToxic {
                    key: key.clone(),
                    link: link.clone(),
                    toxic: toxic.clone(),
                })
                .collect(),
            links: self
                .proxies
                .iter()
                .map(|(link, p)| (link.clone(), p.stats()))
                .collect(),
        }
    }

    /// Serves requests on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Agent>, listener: TcpListener) {
        while let Ok((stream, _)) = listener.accept().await {
            let agent = Arc::clone(&self);
            tokio::spawn(async move {
                let _ = agent.answer(stream).await;
            });
        }
    }

    async fn answer(&self, stream: TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).await?;
        let reply = match serde_json::from_str::<ControlRequest>(&line) {
            Ok(request) => self.handle(request).await,
            Err(e) => ControlReply {
                ok: false,
                error: Some(format!("not a request: {e}")),
                ..ControlReply::default()
            },
        };
        let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
        out.push(b'\n');
        w.write_all(&out).await?;
        w.shutdown().await
    }
}

/// Sends one request to the agent at `addr` and reads its reply.
pub async fn request(addr: SocketAddr, request: &ControlRequest) -> std::io::Result<ControlReply> {
    let stream = TcpStream::connect(addr).await?;
    let (r, mut w) = stream.into_split();
    let mut out = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    out.push(b'\n');
    w.write_all(&out).await?;
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    serde_json::from_str(&line).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the agent's reply `{}`: {e}", line.trim()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::proxy::toxic::{S3ErrorCode, S3ErrorSpec};
    use crate::fault::proxy::Proxy;
    use tokio::io::AsyncReadExt;

    fn any() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    /// An HTTP server answering every request `200 OK` with a short body.
    async fn http_ok() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let l = TcpListener::bind(any()).await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = s.shutdown().await;
                });
            }
        });
        (addr, task)
    }

    async fn status_line(proxy: SocketAddr) -> String {
        let mut s = TcpStream::connect(proxy).await.unwrap();
        s.write_all(b"GET /b/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    #[tokio::test]
    async fn keyed_requests_over_the_channel_add_list_and_remove_toxics_idempotently() {
        let (upstream, _server) = http_ok().await;
        let proxy = Proxy::start_http("s3", any(), upstream).await.unwrap();
        let through = proxy.local_addr();
        let agent = Agent::new(BTreeMap::from([("s3".to_string(), proxy)]));
        let control = TcpListener::bind(any()).await.unwrap();
        let at = control.local_addr().unwrap();
        let _serving = tokio::spawn(Arc::clone(&agent).serve(control));

        assert!(status_line(through).await.contains("200"));
        let add = ControlRequest::Add {
            key: "f-1/0".into(),
            link: "s3".into(),
            toxic: ToxicSpec::S3Error(S3ErrorSpec {
                method: None,
                path_prefix: "/".into(),
                fraction: 1.0,
                code: S3ErrorCode::SlowDown,
            }),
        };
        let r = request(at, &add).await.unwrap();
        assert!(r.ok, "{r:?}");
        // The same key again adds nothing.
        let r = request(at, &add).await.unwrap();
        assert_eq!(r.toxics.len(), 1, "{r:?}");
        assert_eq!(r.toxics[0].key, "f-1/0");
        assert!(status_line(through).await.contains("503"));
        assert!(status_line(through).await.contains("503"));
        let r = request(at, &ControlRequest::List).await.unwrap();
        assert_eq!(r.links["s3"].http.answered, 2, "{r:?}");

        let rm = ControlRequest::Remove {
            key: "f-1/0".into(),
        };
        let r = request(at, &rm).await.unwrap();
        assert!(r.ok && r.toxics.is_empty(), "{r:?}");
        assert!(request(at, &rm).await.unwrap().ok);
        assert!(status_line(through).await.contains("200"));

        // Unknown links and garbage are refused with a reason.
        let r = request(
            at,
            &ControlRequest::Add {
                key: "f-2/0".into(),
                link: "metastore".into(),
                toxic: ToxicSpec::Refuse(crate::fault::proxy::toxic::RefuseSpec {}),
            },
        )
        .await
        .unwrap();
        assert!(!r.ok && r.error.unwrap().contains("no link `metastore`"));
        let mut s = TcpStream::connect(at).await.unwrap();
        s.write_all(b"{\"op\":\"explode\"}\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let r: ControlReply = serde_json::from_str(out.trim()).unwrap();
        assert!(!r.ok && r.error.unwrap().contains("not a request"));
    }
}
