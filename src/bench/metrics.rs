//! Spark's own metrics of one Connect operation, from a Spark REST API (`/api/v1`): the live
//! Connect server's UI or the History Server. A Connect operation's jobs carry the job tag
//! `SparkConnect_OperationTag_User_<user>_Session_<session>_Operation_<operation id>` (3.5 and
//! 4.x alike), so the operation id finds them; their stage ids find the stages, whose
//! attempts are summed. Parsing is pure ([`attribute`]); fetching is [`Api`].

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

use super::model::SparkMetrics;

/// A job as `/applications/<app>/jobs` lists it (the fields used).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The job id.
    pub job_id: u64,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `UNKNOWN`.
    pub status: String,
    /// Its stages.
    #[serde(default)]
    pub stage_ids: Vec<u64>,
    /// Its tags (Spark 3.5+).
    #[serde(default)]
    pub job_tags: Vec<String>,
    /// `2026-12-03T15:00:00.000GMT`.
    #[serde(default)]
    pub submission_time: Option<String>,
    /// See `submission_time`.
    #[serde(default)]
    pub completion_time: Option<String>,
}

/// A stage attempt as `/applications/<app>/stages` lists it (the fields used).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stage {
    /// The stage id.
    pub stage_id: u64,
    /// The attempt (0 first).
    pub attempt_id: u64,
    /// `COMPLETE`, `FAILED`, `ACTIVE`, `PENDING`, `SKIPPED`.
    pub status: String,
    /// Tasks.
    pub num_tasks: u64,
    /// Failed tasks.
    pub num_failed_tasks: u64,
    /// Run time, ms.
    pub executor_run_time: u64,
    /// CPU time, ns.
    pub executor_cpu_time: u64,
    /// GC time, ms.
    pub jvm_gc_time: u64,
    /// Bytes read.
    pub input_bytes: u64,
    /// Shuffle.
    pub shuffle_read_bytes: u64,
    /// Shuffle.
    pub shuffle_read_records: u64,
    /// Shuffle.
    pub shuffle_write_bytes: u64,
    /// Shuffle.
    pub shuffle_write_records: u64,
    /// Spill.
    pub memory_bytes_spilled: u64,
    /// Spill.
    pub disk_bytes_spilled: u64,
    /// Sum over its tasks of each task's peak execution memory.
    pub peak_execution_memory: u64,
}

/// The jobs of `operation_id` (by tag).
pub fn jobs_of<'a>(jobs: &'a [Job], operation_id: &str) -> Vec<&'a Job> {
    let mark = format!("_Operation_{operation_id}");
    jobs.iter()
        .filter(|j| j.job_tags.iter().any(|t| t.ends_with(&mark)))
        .collect()
}

/// Milliseconds since the epoch of the REST API's `2026-12-03T15:00:00.123GMT`.
pub fn api_time_ms(t: &str) -> Option<u64> {
    let t = t.strip_suffix("GMT").unwrap_or(t);
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|x| x.parse::<i64>());
    let (hh, mm, ss) = (h.next()?.ok()?, h.next()?.ok()?, h.next()?.ok()?);
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 24 + hh) * 60 + mm) * 60 * 1000 + ss * 1000 + ms).ok()
}

/// The metrics of `operation_id` from the API's jobs and stages; None when no job carries
/// its tag. Skipped stages (never run) count nowhere.
pub fn attribute(jobs: &[Job], stages: &[Stage], operation_id: &str) -> Option<SparkMetrics> {
    let mine = jobs_of(jobs, operation_id);
    if mine.is_empty() {
        return None;
    }
    let ids: BTreeSet<u64> = mine
        .iter()
        .flat_map(|j| j.stage_ids.iter().copied())
        .collect();
    let mut m = SparkMetrics {
        jobs: mine.len() as u64,
        ..SparkMetrics::default()
    };
    let start = mine
        .iter()
        .filter_map(|j| j.submission_time.as_deref().and_then(api_time_ms))
        .min();
    let end = mine
        .iter()
        .filter_map(|j| j.completion_time.as_deref().and_then(api_time_ms))
        .max();
    if let (Some(a), Some(b)) = (start, end) {
        m.job_wall_ms = b.saturating_sub(a);
    }
    for s in stages
        .iter()
        .filter(|s| ids.contains(&s.stage_id) && s.status != "SKIPPED" && s.status != "PENDING")
    {
        m.stages += 1;
        if s.attempt_id > 0 {
            m.stage_retries += 1;
        }
        m.tasks += s.num_tasks;
        m.failed_tasks += s.num_failed_tasks;
        m.executor_run_ms += s.executor_run_time;
        m.executor_cpu_ms += s.executor_cpu_time / 1_000_000;
        m.gc_ms += s.jvm_gc_time;
        m.input_bytes += s.input_bytes;
        m.shuffle_read_bytes += s.shuffle_read_bytes;
        m.shuffle_read_records += s.shuffle_read_records;
        m.shuffle_write_bytes += s.shuffle_write_bytes;
        m.shuffle_write_records += s.shuffle_write_records;
        m.memory_spilled_bytes += s.memory_bytes_spilled;
        m.disk_spilled_bytes += s.disk_bytes_spilled;
        m.peak_execution_memory_bytes = m.peak_execution_memory_bytes.max(s.peak_execution_memory);
    }
    Some(m)
}

/// Whether every job of the operation has ended (the listener bus is asynchronous: a job may
/// still show RUNNING for a moment after the client has its last row).
pub fn settled(jobs: &[Job], operation_id: &str) -> bool {
    let mine = jobs_of(jobs, operation_id);
    !mine.is_empty() && mine.iter().all(|j| j.status != "RUNNING")
}

/// A Spark REST API at `base` (`http://127.0.0.1:4040`).
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// An application as `/applications` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct App {
    /// Its id.
    pub id: String,
}

impl Api {
    /// A client of the API at `base`.
    pub fn new(base: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let url = format!("{}/api/v1{path}", self.base);
        let r = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", r.status()));
        }
        r.json().await.map_err(|e| format!("GET {url}: {e}"))
    }

    /// The applications (`?status=completed` etc. in `query`).
    pub async fn apps(&self, query: &str) -> Result<Vec<App>, String> {
        self.get(&format!("/applications{query}")).await
    }

    /// The application's jobs.
    pub async fn jobs(&self, app: &str) -> Result<Vec<Job>, String> {
        self.get(&format!("/applications/{app}/jobs")).await
    }

    /// The application's stage attempts.
    pub async fn stages(&self, app: &str) -> Result<Vec<Stage>, String> {
        self.get(&format!("/applications/{app}/stages")).await
    }

    /// The metrics of `operation_id` in `app`, waiting up to `wait` for its jobs to settle.
    pub async fn operation(
        &self,
        app: &str,
        operation_id: &str,
        wait: Duration,
    ) -> Result<SparkMetrics, String> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let jobs = self.jobs(app).await?;
            if settled(&jobs, operation_id) || tokio::time::Instant::now() >= until {
                if jobs_of(&jobs, operation_id).is_empty() {
                    return Err(format!(
                        "no job of {app} carries operation {operation_id}'s tag"
                    ));
                }
                let stages = self.stages(app).await?;
                return attribute(&jobs, &stages, operation_id)
                    .ok_or_else(|| format!("no job of operation {operation_id}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of Spark 3.5.7's answers (fields trimmed), two queries' jobs interleaved with
    // a job of another operation, a retried stage and a skipped one.
    const JOBS: &str = r#"[
      {"jobId": 3, "name": "collect", "submissionTime": "2026-12-03T15:00:02.500GMT",
       "completionTime": "2026-12-03T15:00:04.000GMT", "stageIds": [5, 6], "jobTags":
       ["SparkConnect_OperationTag_User_spark-chaos_Session_s1_Operation_op-b"], "status": "SUCCEEDED"},
      {"jobId": 2, "submissionTime": "2026-12-03T15:00:01.000GMT",
       "completionTime": "2026-12-03T15:00:02.250GMT", "stageIds": [3, 4], "jobTags":
       ["SparkConnect_OperationTag_User_spark-chaos_Session_s1_Operation_op-a"], "status": "SUCCEEDED"},
      {"jobId": 1, "submissionTime": "2026-12-03T15:00:00.000GMT",
       "completionTime": "2026-12-03T15:00:00.900GMT", "stageIds": [1, 2], "jobTags":
       ["SparkConnect_OperationTag_User_spark-chaos_Session_s1_Operation_op-a"], "status": "SUCCEEDED"}
    ]"#;
    const STAGES: &str = r#"[
      {"stageId": 6, "attemptId": 0, "status": "COMPLETE", "numTasks": 1, "executorRunTime": 5},
      {"stageId": 4, "attemptId": 1, "status": "COMPLETE", "numTasks": 2, "numFailedTasks": 0,
       "executorRunTime": 30, "executorCpuTime": 20000000, "jvmGcTime": 1, "shuffleReadBytes": 1000,
       "shuffleReadRecords": 10, "peakExecutionMemory": 4096},
      {"stageId": 4, "attemptId": 0, "status": "FAILED", "numTasks": 2, "numFailedTasks": 1,
       "executorRunTime": 10, "executorCpuTime": 5000000, "shuffleReadBytes": 500,
       "shuffleReadRecords": 5},
      {"stageId": 3, "attemptId": 0, "status": "SKIPPED", "numTasks": 4, "executorRunTime": 999},
      {"stageId": 2, "attemptId": 0, "status": "COMPLETE", "numTasks": 3, "executorRunTime": 100,
       "executorCpuTime": 70000000, "jvmGcTime": 4, "inputBytes": 123456, "shuffleWriteBytes": 2000,
       "shuffleWriteRecords": 20, "memoryBytesSpilled": 7, "diskBytesSpilled": 8,
       "peakExecutionMemory": 1024},
      {"stageId": 1, "attemptId": 0, "status": "COMPLETE", "numTasks": 1, "executorRunTime": 2}
    ]"#;

    #[test]
    fn an_operations_jobs_and_stages_are_summed_over_attempts() {
        let jobs: Vec<Job> = serde_json::from_str(JOBS).unwrap();
        let stages: Vec<Stage> = serde_json::from_str(STAGES).unwrap();
        let m = attribute(&jobs, &stages, "op-a").unwrap();
        assert_eq!(m.jobs, 2);
        assert_eq!(
            m.stages, 4,
            "stages 1, 2 and both attempts of 4; 3 was skipped"
        );
        assert_eq!(m.stage_retries, 1);
        assert_eq!(m.tasks, 1 + 3 + 2 + 2);
        assert_eq!(m.failed_tasks, 1);
        assert_eq!(m.executor_run_ms, 2 + 100 + 30 + 10);
        assert_eq!(m.executor_cpu_ms, 70 + 20 + 5);
        assert_eq!(m.gc_ms, 5);
        assert_eq!(m.input_bytes, 123_456);
        assert_eq!((m.shuffle_read_bytes, m.shuffle_read_records), (1500, 15));
        assert_eq!((m.shuffle_write_bytes, m.shuffle_write_records), (2000, 20));
        assert_eq!((m.memory_spilled_bytes, m.disk_spilled_bytes), (7, 8));
        assert_eq!(m.peak_execution_memory_bytes, 4096);
        assert_eq!(m.job_wall_ms, 2250, "15:00:00.000 to 15:00:02.250");
        let b = attribute(&jobs, &stages, "op-b").unwrap();
        assert_eq!((b.jobs, b.stages, b.executor_run_ms), (1, 1, 5));
        assert_eq!(attribute(&jobs, &stages, "op-c"), None);
        assert!(settled(&jobs, "op-a"));
        assert!(!settled(&jobs, "op-c"), "no job yet is not settled");
    }

    #[test]
    fn api_times_are_read_as_utc() {
        assert_eq!(api_time_ms("1970-01-01T00:00:00.000GMT"), Some(0));
        assert_eq!(
            api_time_ms("2026-12-03T15:00:02.250GMT"),
            Some(1_796_310_002_250)
        );
        assert_eq!(
            api_time_ms("2000-03-01T00:00:01.5GMT"),
            Some(951_868_801_500)
        );
        assert_eq!(api_time_ms("garbage"), None);
    }
}
