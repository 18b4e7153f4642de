//! `chaos cluster up | down | status`: the kind cluster of the Kubernetes platform.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::Failure;
use crate::paths::{Cache, EnvHome};
use crate::platform::kubernetes::cluster::{self, UpOptions};
use crate::platform::kubernetes::images::Source;
use crate::platform::kubernetes::KubeError;
use crate::versions::SparkLine;

/// `cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Build (or find cached) the node and component images, create the kind cluster, wait
    /// until every node is Ready, load the images; print the kubeconfig and context.
    Up(ClusterUpArgs),
    /// Build (or find cached) the images without creating a cluster: the node image and the
    /// component images (what `up` does first).
    Build {
        /// Spark versions whose images are built (default: both).
        #[arg(long = "spark", value_name = "VERSION")]
        spark: Vec<SparkLine>,
        /// Only the component images (Spark, chaos), not the kind node image.
        #[arg(long)]
        components_only: bool,
    },
    /// Delete the cluster and everything the harness made for it; check nothing is left.
    Down {
        /// The cluster's name.
        #[arg(long, default_value = "chaos")]
        name: String,
    },
    /// Show the cluster: kubeconfig, context, nodes, images.
    Status {
        /// The cluster's name.
        #[arg(long, default_value = "chaos")]
        name: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `cluster up`.
#[derive(Debug, Args)]
pub struct ClusterUpArgs {
    /// The cluster's name.
    #[arg(long, default_value = "chaos")]
    pub name: String,
    /// The kind configuration from kind-configs/: `local` (1 control plane + 2 workers) or
    /// `ci` (1 + 1).
    #[arg(long, default_value = "local")]
    pub config: String,
    /// Spark versions whose images are built and loaded (default: both).
    #[arg(long = "spark", value_name = "VERSION")]
    pub spark: Vec<SparkLine>,
    /// How long to wait for every node to be Ready.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub ready_timeout: Duration,
}

fn fail(e: KubeError) -> Failure {
    match e {
        KubeError::Invalid(_) => Failure::input(e),
        _ => Failure::env(e),
    }
}

/// The Spark versions asked for, sorted, without repeats; both when none (the platform runs
/// both side by side).
fn spark_or_default(v: &[SparkLine]) -> Vec<SparkLine> {
    let mut v = if v.is_empty() {
        SparkLine::ALL.to_vec()
    } else {
        v.to_vec()
    };
    v.sort();
    v.dedup();
    v
}

/// Runs a `cluster` subcommand.
pub(super) fn run(home: &EnvHome, cache: &Cache, cmd: ClusterCommand) -> Result<(), Failure> {
    match cmd {
        ClusterCommand::Up(a) => {
            let spark = spark_or_default(&a.spark);
            let opts = UpOptions {
                name: a.name.clone(),
                config: cluster::kind_config(&a.config).map_err(fail)?,
                source: Source::from_env().map_err(fail)?,
                spark,
                ready_timeout: a.ready_timeout,
            };
            let info = cluster::up(cache, home, &opts).map_err(fail)?;
            println!("kubeconfig: {}", info.kubeconfig.display());
            println!("context:    {}", info.context);
            println!("server:     {}", info.server);
            println!("node image: {}", info.node_image);
            for (role, image) in &info.images {
                println!("image:      {role} = {image}");
            }
            println!(
                "use:        {} --kubeconfig {} get nodes",
                info.kubectl.display(),
                info.kubeconfig.display()
            );
            Ok(())
        }
        ClusterCommand::Build {
            spark,
            components_only,
        } => {
            let source = Source::from_env().map_err(fail)?;
            crate::platform::kubernetes::docker::ensure_engine(cache).map_err(fail)?;
            if !components_only {
                let r =
                    crate::platform::kubernetes::nodeimage::ensure(cache, source).map_err(fail)?;
                println!("node image: {r}");
            }
            let images = cluster::ensure_component_images(cache, source, &spark_or_default(&spark))
                .map_err(fail)?;
            for (role, image) in &images {
                println!("image:      {role} = {image}");
            }
            Ok(())
        }
        ClusterCommand::Down { name } => cluster::down(cache, home, &name).map_err(fail),
        ClusterCommand::Status { name, json } => {
            let s = cluster::status(home, &name).map_err(fail)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&s).map_err(Failure::env)?
                );
                return Ok(());
            }
            match &s.info {
                Some(i) if !s.containers.is_empty() => {
                    println!("cluster:    {} (up)", i.name);
                    println!("kubeconfig: {}", i.kubeconfig.display());
                    println!("context:    {}", i.context);
                    println!("server:     {}", i.server);
                    println!("node image: {}", i.node_image);
                    for (role, image) in &i.images {
                        println!("image:      {role} = {image}");
                    }
                }
                _ if !s.containers.is_empty() => {
                    println!("cluster:    {name} (containers without cluster.json: run `chaos cluster up` or `down`)");
                }
                _ => {
                    println!("cluster:    {name} (down)");
                    return Ok(());
                }
            }
            for c in &s.containers {
                println!("container:  {c}");
            }
            for n in &s.nodes {
                println!(
                    "node:       {} {} {}",
                    n.name,
                    if n.ready { "Ready" } else { "NotReady" },
                    n.kubelet
                );
            }
            if let Some(e) = &s.api_error {
                println!("api:        {e}");
            }
            Ok(())
        }
    }
}
