//! A Spark Connect session: one per worker, cheap to clone, safe to share between tasks.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use spark_connect_core::ChannelBuilder;
use spark_connect_proto as pb;
use spark_connect_proto::spark_connect_service_client::SparkConnectServiceClient;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::error::{status_summary, ClientError, EndpointError, InterruptReport};
use super::status::{classify, Phase, StatusClass};

pub(crate) type Stub = SparkConnectServiceClient<Channel>;

/// When an operation must be finished by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: tokio::time::Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: tokio::time::Instant::now() + budget,
            budget,
        }
    }

    /// A deadline at a given instant (e.g. an open-model op's intended start plus its budget).
    pub fn at(at: tokio::time::Instant) -> Self {
        Self {
            at,
            budget: at.saturating_duration_since(tokio::time::Instant::now()),
        }
    }

    /// The instant the deadline passes.
    pub fn instant(&self) -> tokio::time::Instant {
        self.at
    }

    /// The budget the deadline was created with (for messages).
    pub fn budget(&self) -> Duration {
        self.budget
    }
}

impl From<Duration> for Deadline {
    fn from(budget: Duration) -> Self {
        Self::after(budget)
    }
}

impl From<tokio::time::Instant> for Deadline {
    fn from(at: tokio::time::Instant) -> Self {
        Self::at(at)
    }
}

/// How a [`Session`] identifies itself and behaves.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The session id (a UUID). `None`: the endpoint's `session_id` parameter, else a random one.
    pub session_id: Option<String>,
    /// The user id. `None`: the endpoint's `user_id` parameter, else `spark-chaos`.
    pub user_id: Option<String>,
    /// The `client_type` sent with every request, and the HTTP user agent.
    pub client_type: String,
    /// Bound on the TCP connect, and on the version handshake [`Session::connect`] performs.
    pub connect_timeout: Duration,
    /// Bound on the `Interrupt` sent after a deadline passes.
    pub interrupt_timeout: Duration,
    /// Ask for reattachable execution (Spark ≥ 3.5 supports it unless the server sets
    /// `spark.connect.execute.reattachable.enabled=false`, in which case turn this off).
    pub reattachable: bool,
    /// How many failed `ReattachExecute` attempts in a row end an operation as unknown.
    pub max_reattach_attempts: u32,
    /// Largest gRPC message accepted or sent, in bytes.
    pub max_message_bytes: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            session_id: None,
            user_id: None,
            client_type: concat!("spark-chaos/", env!("CARGO_PKG_VERSION")).to_string(),
            connect_timeout: Duration::from_secs(10),
            interrupt_timeout: Duration::from_secs(5),
            reattachable: true,
            max_reattach_attempts: 8,
            max_message_bytes: 128 * 1024 * 1024,
        }
    }
}

impl SessionOptions {
    /// Default options with a fixed session id.
    pub fn with_session_id(session_id: impl Into<String>) -> Self {
        Self {
            session_id: Some(session_id.into()),
            ..Self::default()
        }
    }

    /// These options with a fixed user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }
}

/// A Spark Connect session. Clones share the session (same id, channel and settings).
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) endpoint: String,
    pub(crate) session_id: String,
    pub(crate) user_id: String,
    pub(crate) opts: SessionOptions,
    headers: Vec<(AsciiMetadataKey, AsciiMetadataValue)>,
    channel: Mutex<Channel>,
    /// The server-side session id last seen (Spark 4 sends it; 3.5 does not).
    server_side_session_id: Mutex<Option<String>>,
    /// Confs set through [`Session::set_conf`], re-applied after the connection had trouble.
    confs: Mutex<Vec<(String, String)>>,
    resync: AtomicBool,
    version: OnceLock<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.inner.endpoint)
            .field("session_id", &self.inner.session_id)
            .field("user_id", &self.inner.user_id)
            .field("server_version", &self.inner.version.get())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn endpoint_error(endpoint: &str, why: impl fmt::Display) -> ClientError {
    ClientError::Endpoint {
        endpoint: endpoint.to_string(),
        source: EndpointError(why.to_string()),
    }
}

impl Session {
    /// Opens a session on `endpoint` (`sc://host:port`, optionally with `;user_id=…`,
    /// `;session_id=…`, `;token=…` or extra header parameters) and checks the server answers
    /// by asking its Spark version within `opts.connect_timeout`.
    ///
    /// TLS (`use_ssl=true`) is not supported: the harness only talks to 127.0.0.1.
    pub async fn connect(endpoint: &str, opts: SessionOptions) -> Result<Self, ClientError> {
        let builder = ChannelBuilder::parse(endpoint).map_err(|e| endpoint_error(endpoint, e))?;
        if builder.use_ssl() {
            return Err(endpoint_error(endpoint, "use_ssl=true is not supported"));
        }
        let session_id = match (&opts.session_id, builder.session_id()) {
            (Some(id), _) => id.clone(),
            (None, Ok(Some(id))) => id,
            (None, Ok(None)) => super::ids::uuid_v4(),
            (None, Err(e)) => return Err(endpoint_error(endpoint, e)),
        };
        let user_id = opts
            .user_id
            .clone()
            .or_else(|| builder.user_id().map(str::to_string))
            .unwrap_or_else(|| "spark-chaos".to_string());
        let mut params = builder.metadata();
        if let Some(token) = builder.get("token") {
            params.push(("authorization".to_string(), format!("Bearer {token}")));
        }
        let headers = params
            .into_iter()
            .map(|(k, v)| {
                let key = AsciiMetadataKey::from_bytes(k.as_bytes())
                    .map_err(|e| endpoint_error(endpoint, format!("header {k:?}: {e}")))?;
                let value = AsciiMetadataValue::try_from(v.as_str())
                    .map_err(|e| endpoint_error(endpoint, format!("header {k:?}: {e}")))?;
                Ok((key, value))
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        let host_port = builder.endpoint();
        tracing::debug!(
            endpoint = %host_port,
            session_id = %session_id,
            user_id = %user_id,
            headers = headers.len(),
            "opening a Spark Connect session"
        );
        let channel = new_channel(&host_port, &opts).map_err(|e| endpoint_error(endpoint, e))?;
        let session = Self {
            inner: Arc::new(Inner {
                endpoint: host_port,
                session_id,
                user_id,
                headers,
                channel: Mutex::new(channel),
                server_side_session_id: Mutex::new(None),
                confs: Mutex::new(Vec::new()),
                resync: AtomicBool::new(false),
                version: OnceLock::new(),
                opts,
            }),
        };
        let version = session
            .ping(Deadline::after(session.inner.opts.connect_timeout))
            .await
            .inspect_err(|e| {
                tracing::debug!(
                    endpoint = %session.inner.endpoint,
                    session_id = %session.inner.session_id,
                    error = %e,
                    "session not opened: the version probe failed"
                );
            })?;
        tracing::debug!(
            endpoint = %session.inner.endpoint,
            session_id = %session.inner.session_id,
            version = %version,
            server_side_session_id = session.inner.observed().as_deref().unwrap_or(""),
            "session open"
        );
        let _ = session.inner.version.set(version);
        Ok(session)
    }

    /// The session id sent with every request.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The user id sent with every request.
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The `host:port` this session talks to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The Spark version the server reported when the session was opened (e.g. `3.5.7`).
    pub fn server_version(&self) -> &str {
        self.inner.version.get().map_or("", String::as_str)
    }

    /// The server-side session id last reported (Spark 4 only; `None` on 3.5).
    pub fn server_side_session_id(&self) -> Option<String> {
        lock(&self.inner.server_side_session_id).clone()
    }

    /// Asks the server its Spark version (`AnalyzePlan` / `SparkVersion`): a cheap liveness probe.
    pub async fn ping(&self, deadline: impl Into<Deadline>) -> Result<String, ClientError> {
        let inner = &self.inner;
        let request = inner.analyze_request(pb::analyze_plan_request::Analyze::SparkVersion(
            pb::analyze_plan_request::SparkVersion {},
        ));
        let action = "ask the server its Spark version";
        let mut stub = inner.stub();
        let response = inner
            .unary(
                action,
                deadline.into(),
                stub.analyze_plan(inner.request(request)),
            )
            .await?;
        inner.observe(&response.server_side_session_id);
        match response.result {
            Some(pb::analyze_plan_response::Result::SparkVersion(v)) => Ok(v.version),
            other => Err(ClientError::Protocol {
                action: action.to_string(),
                detail: format!("expected a SparkVersion result, got {other:?}"),
            }),
        }
    }

    /// Sets a session conf (`Config` / `Set`) and remembers it, so that it is set again
    /// before the next operation after the connection had trouble (the server may have
    /// restarted and forgotten it). Spark 4 reports a restarted server (`SESSION_CHANGED`);
    /// Spark 3.5 cannot, so a 3.5 server restarted while the session was idle runs the next
    /// operation without the conf: set confs that must hold on the server's command line.
    pub async fn set_conf(
        &self,
        key: &str,
        value: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<(), ClientError> {
        let action = format!("set session conf {key}");
        self.inner
            .send_confs(
                &action,
                &[(key.to_string(), value.to_string())],
                deadline.into(),
            )
            .await?;
        let mut confs = lock(&self.inner.confs);
        confs.retain(|(k, _)| k != key);
        confs.push((key.to_string(), value.to_string()));
        Ok(())
    }

    /// Reads a session conf (`Config` / `GetOption`); `None` when unset.
    pub async fn get_conf(
        &self,
        key: &str,
        deadline: impl Into<Deadline>,
    ) -> Result<Option<String>, ClientError> {
        let inner = &self.inner;
        let request = inner.config_request(pb::config_request::operation::OpType::GetOption(
            pb::config_request::GetOption {
                keys: vec![key.to_string()],
            },
        ));
        let action = format!("read session conf {key}");
        let mut stub = inner.stub();
        let response = inner
            .unary(
                &action,
                deadline.into(),
                stub.config(inner.request(request)),
            )
            .await?;
        inner.observe(&response.server_side_session_id);
        Ok(response
            .pairs
            .into_iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value))
    }

    /// Interrupts every running operation of this session; returns the interrupted ids.
    pub async fn interrupt_all(
        &self,
        deadline: impl Into<Deadline>,
    ) -> Result<Vec<String>, ClientError> {
        let inner = &self.inner;
        tracing::debug!(
            endpoint = %inner.endpoint,
            session_id = %inner.session_id,
            version = inner.version(),
            "Interrupt (all operations)"
        );
        let request = inner.interrupt_request(pb::interrupt_request::InterruptType::All, None);
        let mut stub = inner.stub();
        let response = inner
            .unary(
                "interrupt all operations",
                deadline.into(),
                stub.interrupt(inner.request(request)),
            )
            .await?;
        Ok(response.interrupted_ids)
    }

    /// Releases the session on the server (`ReleaseSession`, Spark 4). Spark 3.5 has no such
    /// call (`UNIMPLEMENTED`); there the session simply expires, and this returns `Ok`.
    pub async fn close(&self, deadline: impl Into<Deadline>) -> Result<(), ClientError> {
        let inner = &self.inner;
        tracing::debug!(
            endpoint = %inner.endpoint,
            session_id = %inner.session_id,
            version = inner.version(),
            "ReleaseSession"
        );
        let request = inner.release_session_request();
        let mut stub = inner.stub();
        let deadline = deadline.into();
        let call = stub.release_session(inner.request(request));
        match tokio::time::timeout_at(deadline.instant(), call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(status)) if status.code() == tonic::Code::Unimplemented => {
                tracing::debug!(
                    endpoint = %inner.endpoint,
                    session_id = %inner.session_id,
                    version = inner.version(),
                    "ReleaseSession unimplemented (Spark 3.5): the session expires on its own"
                );
                Ok(())
            }
            Ok(Err(status)) => {
                Err(inner.error_from_status("release the session", status, Phase::First))
            }
            Err(_) => Err(ClientError::Deadline {
                action: "release the session".to_string(),
                budget: deadline.budget(),
                interrupt: InterruptReport::NotSent,
            }),
        }
    }
}

fn new_channel(host_port: &str, opts: &SessionOptions) -> Result<Channel, String> {
    Ok(Endpoint::from_shared(format!("http://{host_port}"))
        .map_err(|e| e.to_string())?
        .user_agent(opts.client_type.clone())
        .map_err(|e| e.to_string())?
        .connect_timeout(opts.connect_timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

impl Inner {
    /// The server's Spark version for log fields (empty until the session is open).
    pub(crate) fn version(&self) -> &str {
        self.version.get().map_or("", String::as_str)
    }

    pub(crate) fn stub(&self) -> Stub {
        let channel = lock(&self.channel).clone();
        SparkConnectServiceClient::new(channel)
            .max_decoding_message_size(self.opts.max_message_bytes)
            .max_encoding_message_size(self.opts.max_message_bytes)
    }

    /// Replaces the channel with a fresh one, so that a connection that silently died (e.g.
    /// behind a partition) is not reused. Operations in flight keep their old channel.
    pub(crate) fn reset_channel(&self) {
        if let Ok(channel) = new_channel(&self.endpoint, &self.opts) {
            tracing::debug!(
                endpoint = %self.endpoint,
                session_id = %self.session_id,
                version = self.version(),
                "new channel (the old connection may be dead)"
            );
            *lock(&self.channel) = channel;
        }
    }

    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for (k, v) in &self.headers {
            request.metadata_mut().insert(k.clone(), v.clone());
        }
        request
    }

    pub(crate) fn user_context(&self) -> pb::UserContext {
        pb::UserContext {
            user_id: self.user_id.clone(),
            user_name: self.user_id.clone(),
            ..Default::default()
        }
    }

    pub(crate) fn observed(&self) -> Option<String> {
        lock(&self.server_side_session_id).clone()
    }

    pub(crate) fn observe(&self, server_side_session_id: &str) {
        if !server_side_session_id.is_empty() {
            let mut current = lock(&self.server_side_session_id);
            if current.as_deref() != Some(server_side_session_id) {
                tracing::debug!(
                    endpoint = %self.endpoint,
                    session_id = %self.session_id,
                    version = self.version(),
                    previous = current.as_deref().unwrap_or(""),
                    server_side_session_id,
                    "server-side session id observed"
                );
                *current = Some(server_side_session_id.to_string());
            }
        }
    }

    /// Turns a failed call's status into an error, updating session state on the way.
    pub(crate) fn error_from_status(
        &self,
        action: &str,
        status: tonic::Status,
        phase: Phase,
    ) -> ClientError {
        let action = action.to_string();
        let class = classify(&status, phase);
        tracing::debug!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            action = %action,
            ?phase,
            class = class.name(),
            code = ?status.code(),
            status = %status.message(),
            "call failed"
        );
        match class {
            StatusClass::Refused => {
                self.resync.store(true, Ordering::Relaxed);
                ClientError::Refused {
                    action,
                    endpoint: self.endpoint.clone(),
                    source: Box::new(status),
                }
            }
            StatusClass::Server(source) => {
                self.note_session_change(source.error_class.as_deref());
                ClientError::Server {
                    action,
                    source: Box::new(source),
                }
            }
            StatusClass::Lost(source) => {
                self.note_session_change(source.error_class.as_deref());
                self.resync.store(true, Ordering::Relaxed);
                ClientError::Lost {
                    action,
                    source: Box::new(source),
                }
            }
            StatusClass::Transport => {
                self.resync.store(true, Ordering::Relaxed);
                ClientError::Transport {
                    action,
                    source: Box::new(status),
                }
            }
        }
    }

    /// After `SESSION_CHANGED` the server has a new session for our id: forget the old
    /// server-side id (else every later request is rejected) and set confs again.
    fn note_session_change(&self, error_class: Option<&str>) {
        if error_class == Some("INVALID_HANDLE.SESSION_CHANGED") {
            tracing::debug!(
                endpoint = %self.endpoint,
                session_id = %self.session_id,
                version = self.version(),
                "server session changed (server restarted): adopting the new one, confs to be set again"
            );
            *lock(&self.server_side_session_id) = None;
            self.resync.store(true, Ordering::Relaxed);
        }
    }

    /// Runs one unary call within `deadline`, classifying failures.
    pub(crate) async fn unary<T>(
        &self,
        action: &str,
        deadline: Deadline,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, ClientError> {
        tracing::trace!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            action,
            "unary call"
        );
        match tokio::time::timeout_at(deadline.instant(), call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(self.error_from_status(action, status, Phase::First)),
            Err(_) => {
                tracing::debug!(
                    endpoint = %self.endpoint,
                    session_id = %self.session_id,
                    version = self.version(),
                    action,
                    budget = ?deadline.budget(),
                    "unary call deadline passed"
                );
                self.reset_channel();
                Err(ClientError::Deadline {
                    action: action.to_string(),
                    budget: deadline.budget(),
                    interrupt: InterruptReport::NotSent,
                })
            }
        }
    }

    /// An `AnalyzePlan` request of this session.
    pub(crate) fn analyze_request(
        &self,
        analyze: pb::analyze_plan_request::Analyze,
    ) -> pb::AnalyzePlanRequest {
        pb::AnalyzePlanRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: self.observed(),
            user_context: Some(self.user_context()),
            client_type: Some(self.opts.client_type.clone()),
            analyze: Some(analyze),
        }
    }

    /// A `ReleaseSession` request for this session (no reconnect).
    pub(crate) fn release_session_request(&self) -> pb::ReleaseSessionRequest {
        pb::ReleaseSessionRequest {
            session_id: self.session_id.clone(),
            user_context: Some(self.user_context()),
            client_type: Some(self.opts.client_type.clone()),
            allow_reconnect: false,
        }
    }

    /// A `ReleaseExecute` request releasing all of an operation's responses.
    pub(crate) fn release_execute_request(&self, operation_id: &str) -> pb::ReleaseExecuteRequest {
        pb::ReleaseExecuteRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: self.observed(),
            user_context: Some(self.user_context()),
            operation_id: operation_id.to_string(),
            client_type: Some(self.opts.client_type.clone()),
            release: Some(pb::release_execute_request::Release::ReleaseAll(
                pb::release_execute_request::ReleaseAll {},
            )),
        }
    }

    fn config_request(&self, op: pb::config_request::operation::OpType) -> pb::ConfigRequest {
        pb::ConfigRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: self.observed(),
            user_context: Some(self.user_context()),
            operation: Some(pb::config_request::Operation { op_type: Some(op) }),
            client_type: Some(self.opts.client_type.clone()),
        }
    }

    async fn send_confs(
        &self,
        action: &str,
        pairs: &[(String, String)],
        deadline: Deadline,
    ) -> Result<(), ClientError> {
        let request = self.config_request(pb::config_request::operation::OpType::Set(
            pb::config_request::Set {
                pairs: pairs
                    .iter()
                    .map(|(k, v)| pb::KeyValue {
                        key: k.clone(),
                        value: Some(v.clone()),
                    })
                    .collect(),
                silent: None,
            },
        ));
        let mut stub = self.stub();
        let response = self
            .unary(action, deadline, stub.config(self.request(request)))
            .await?;
        self.observe(&response.server_side_session_id);
        Ok(())
    }

    /// Sets the remembered confs again if the connection had trouble since they were set.
    pub(crate) async fn resync_confs(&self, deadline: Deadline) -> Result<(), ClientError> {
        if !self.resync.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let confs = lock(&self.confs).clone();
        if confs.is_empty() {
            return Ok(());
        }
        tracing::debug!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            confs = confs.len(),
            "setting the session confs again after connection trouble"
        );
        let result = self
            .send_confs("set the session confs again", &confs, deadline)
            .await;
        if result.is_err() {
            self.resync.store(true, Ordering::Relaxed);
        }
        result
    }

    pub(crate) fn interrupt_request(
        &self,
        kind: pb::interrupt_request::InterruptType,
        operation_id: Option<&str>,
    ) -> pb::InterruptRequest {
        pb::InterruptRequest {
            session_id: self.session_id.clone(),
            client_observed_server_side_session_id: self.observed(),
            user_context: Some(self.user_context()),
            client_type: Some(self.opts.client_type.clone()),
            interrupt_type: kind as i32,
            interrupt: operation_id
                .map(|id| pb::interrupt_request::Interrupt::OperationId(id.to_string())),
        }
    }

    /// Sends `Interrupt` for one operation on a fresh channel, bounded by `interrupt_timeout`.
    pub(crate) async fn interrupt_operation(&self, operation_id: &str) -> InterruptReport {
        self.reset_channel();
        let request = self.interrupt_request(
            pb::interrupt_request::InterruptType::OperationId,
            Some(operation_id),
        );
        let mut stub = self.stub();
        let call = stub.interrupt(self.request(request));
        tracing::debug!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            operation_id,
            "Interrupt"
        );
        let report = match tokio::time::timeout(self.opts.interrupt_timeout, call).await {
            Ok(Ok(response)) => {
                if response
                    .get_ref()
                    .interrupted_ids
                    .iter()
                    .any(|id| id == operation_id)
                {
                    InterruptReport::Confirmed
                } else {
                    InterruptReport::NotListed
                }
            }
            Ok(Err(status)) => InterruptReport::Failed(status_summary(&status)),
            Err(_) => InterruptReport::Failed(format!(
                "no answer within {:?}",
                self.opts.interrupt_timeout
            )),
        };
        tracing::debug!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            operation_id,
            report = ?report,
            "Interrupt answered"
        );
        report
    }

    /// Tells the server, in the background, that it may drop a reattachable operation's
    /// buffered responses. Failures are irrelevant: the server also expires them itself.
    pub(crate) fn spawn_release(self: &Arc<Self>, operation_id: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = Arc::clone(self);
        let request = self.release_execute_request(operation_id);
        let operation_id = operation_id.to_string();
        runtime.spawn(async move {
            let mut stub = inner.stub();
            let call = stub.release_execute(inner.request(request));
            let result = tokio::time::timeout(inner.opts.interrupt_timeout, call).await;
            tracing::trace!(
                endpoint = %inner.endpoint,
                session_id = %inner.session_id,
                version = inner.version(),
                operation_id = %operation_id,
                ok = matches!(result, Ok(Ok(_))),
                "ReleaseExecute"
            );
        });
    }

    /// Interrupts and releases an operation in the background (its caller went away).
    pub(crate) fn spawn_abandon(self: &Arc<Self>, operation_id: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = Arc::clone(self);
        let id = operation_id.to_string();
        tracing::debug!(
            endpoint = %self.endpoint,
            session_id = %self.session_id,
            version = self.version(),
            operation_id,
            "operation abandoned by its caller: interrupting and releasing it"
        );
        runtime.spawn(async move {
            let _ = inner.interrupt_operation(&id).await;
            inner.spawn_release(&id);
        });
    }
}
