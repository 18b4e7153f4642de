use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::versions::SparkLine;

/// The errors of `text`, one per line.
fn errors(text: &str) -> String {
    match parse(text, "x.toml") {
        Ok(sc) => panic!("expected errors, got {sc:?}"),
        Err(e) => e.to_string(),
    }
}

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

const MINIMAL: &str = r#"name = "t"
description = "d"

[workload]
rate = "1/s"
duration = "4m"
"#;

#[test]
fn a_minimal_scenario_gets_the_documented_defaults() {
    let sc = parse(MINIMAL, "x.toml").expect("valid");
    assert_eq!(sc.kind, Kind::Chaos);
    assert_eq!(sc.platform, Platform::Local);
    assert_eq!(sc.spark, vec![SparkLine::V3_5, SparkLine::V4_1]);
    assert_eq!(sc.env, EnvSpec::default());
    assert_eq!(sc.env.replicas, 1);
    assert_eq!(sc.env.workers, 2);
    assert_eq!(sc.data.scale, 0.1);
    let w = sc.workload.as_ref().expect("workload");
    assert_eq!(w.queries, QuerySelection::Set(QuerySet::Quick));
    assert_eq!(w.query_selection(), "quick");
    assert_eq!(w.model, LoadModel::Open);
    assert_eq!(w.rate_per_second(), Some(1.0));
    assert_eq!(w.sessions, 2);
    assert_eq!(w.warmup.get(), Duration::ZERO);
    assert_eq!(w.timeout.get(), Duration::from_secs(120));
    assert!(!w.writes);
    assert_eq!(w.write_every(), Duration::from_secs(5));
    assert_eq!(w.write_batch(), 10);
    assert_eq!(w.seed, 1);
    assert_eq!(
        w.load_model(),
        crate::workload::load::Model::Open {
            rate: 1.0,
            poisson: false
        }
    );
    assert!(sc.faults.is_empty());
    assert_eq!(sc.checks, crate::check::model::Thresholds::default());
    assert_eq!(sc.report.formats.len(), 4);
    assert_eq!(sc.report.dir, PathBuf::from("reports"));
}

#[test]
fn unknown_fields_list_the_accepted_names() {
    let text = format!("{MINIMAL}sesions = 3\n");
    assert_eq!(
        errors(&text),
        "x.toml:7:1: workload.sesions: unknown field \"sesions\"; accepted: \"concurrent_writes\", \"duration\", \"model\", \"poisson\", \"queries\", \"rate\", \"seed\", \"sessions\", \"think\", \"timeout\", \"warmup\", \"write_batch\", \"write_every\", \"writes\""
    );
    let text = format!("colour = \"blue\"\n{MINIMAL}");
    assert_eq!(
        errors(&text),
        "x.toml:1:1: colour: unknown field \"colour\"; accepted: \"bench\", \"checks\", \"compat\", \"data\", \"description\", \"env\", \"fault\", \"kind\", \"name\", \"platform\", \"report\", \"spark\", \"upgrade\", \"workload\""
    );
    let text = format!("{MINIMAL}[checks]\nrecovery = \"60s\"\n");
    let e = errors(&text);
    assert!(
        e.starts_with("x.toml:8:1: checks.recovery: unknown field \"recovery\"; accepted: \"availability_after\""),
        "{e}"
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    let text = MINIMAL.replace("rate = \"1/s\"", "rate = \"1/s\"\nsessions = \"two\"");
    assert_eq!(
        errors(&text),
        "x.toml:6:12: workload.sessions: expected an integer from 1 to 64, found the string \"two\""
    );
    let text = format!("{MINIMAL}writes = \"yes\"\n");
    assert_eq!(
        errors(&text),
        "x.toml:7:10: workload.writes: expected true or false, found the string \"yes\""
    );
    let text =
        format!("{MINIMAL}[env.spark_conf]\nall = {{ \"spark.sql.shuffle.partitions\" = 4 }}\n");
    assert_eq!(
        errors(&text),
        "x.toml:8:42: env.spark_conf.all.\"spark.sql.shuffle.partitions\": expected a string, found the integer 4 (write it in quotes: \"4\")"
    );
    let text = format!("{MINIMAL}[[fault]]\nkind = \"kill\"\nat = 90\n");
    assert_eq!(
        errors(&text),
        "x.toml:9:6: fault[0].at: expected a duration such as \"45s\" or \"4m\", found the integer 90"
    );
}

#[test]
fn bad_enum_values_list_the_accepted_ones() {
    let text = MINIMAL.replace("rate = \"1/s\"", "model = \"opne\"");
    assert_eq!(
        errors(&text),
        "x.toml:5:9: workload.model: unknown value \"opne\"; accepted: \"open\", \"closed\""
    );
    let text = MINIMAL.replace(
        "description = \"d\"",
        "description = \"d\"\nspark = [\"3.5.7\", \"4.0\"]",
    );
    assert_eq!(
        errors(&text),
        "x.toml:3:19: spark[1]: unknown value \"4.0\"; accepted: \"3.5.7\", \"4.1.0\""
    );
    let text = MINIMAL.replace("rate = \"1/s\"", "rate = \"1/s\"\nqueries = \"fast\"");
    assert_eq!(
        errors(&text),
        "x.toml:6:11: workload.queries: unknown value \"fast\"; accepted: \"quick\", \"all\" or an array of strings"
    );
    let text =
        format!("{MINIMAL}[[fault]]\nkind = \"s3-outgae\"\nat = \"1m\"\nduration = \"1s\"\n");
    let e = errors(&text);
    assert!(
        e.starts_with("x.toml:8:8: fault[0].kind: unknown value \"s3-outgae\"; accepted: \"pod-kill\", \"network-partition\", \"s3-outage\""),
        "{e}"
    );
}

#[test]
fn bad_durations_name_the_value_and_the_accepted_forms() {
    let text = MINIMAL.replace("duration = \"4m\"", "duration = \"4 mins later\"");
    assert_eq!(
        errors(&text),
        "x.toml:6:12: workload.duration: \"4 mins later\" is not a duration (expected number at 7); accepted: e.g. \"250ms\", \"45s\", \"4m\", \"1h 30m\""
    );
}

#[test]
fn structural_errors_are_all_reported_in_file_order() {
    let text = r#"name = 3
description = "d"
kind = "choas"

[workload]
duration = "soon"
rate = "1/s"
"#;
    assert_eq!(
        errors(text),
        "x.toml:1:8: name: expected a string, found the integer 3 (write it in quotes: \"3\")\n\
         x.toml:3:8: kind: unknown value \"choas\"; accepted: \"chaos\", \"compat\", \"upgrade\", \"bench\"\n\
         x.toml:6:12: workload.duration: \"soon\" is not a duration (expected number at 0); accepted: e.g. \"250ms\", \"45s\", \"4m\", \"1h 30m\""
    );
}

#[test]
fn missing_required_fields_point_at_their_table() {
    let text = "description = \"d\"\n\n[workload]\nrate = \"1/s\"\n";
    assert_eq!(
        errors(text),
        "x.toml:1:1: name: required but missing; expected a string\n\
         x.toml:3:1: workload.duration: required but missing; expected a duration such as \"45s\" or \"4m\""
    );
}

#[test]
fn syntax_errors_carry_their_position() {
    let text = "name = \"t\"\ndescription = \"d\n";
    let e = errors(text);
    assert!(e.starts_with("x.toml:2:"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let e = errors("name = 1979-05-27T07:32:00Z\ndescription = \"d\"\n");
    assert_eq!(
        e,
        "x.toml:1:8: name: expected a string, found the date-time 1979-05-27T07:32:00Z"
    );
}

#[test]
fn rate_is_required_for_the_open_model_and_refused_for_closed() {
    let text = MINIMAL.replace("rate = \"1/s\"\n", "");
    assert_eq!(
        errors(&text),
        "x.toml:4:1: workload.rate: required when workload.model = \"open\", the default; write e.g. rate = \"1/s\" (or model = \"closed\")"
    );
    let text = MINIMAL.replace("rate = \"1/s\"", "model = \"open\"");
    assert_eq!(
        errors(&text),
        "x.toml:5:9: workload.rate: required when workload.model = \"open\"; write e.g. rate = \"1/s\" (or model = \"closed\")"
    );
    let text = MINIMAL.replace(
        "rate = \"1/s\"",
        "model = \"closed\"\nrate = \"1/s\"\npoisson = true",
    );
    assert_eq!(
        errors(&text),
        "x.toml:6:1: workload.rate: only for workload.model = \"open\" (the model is \"closed\")\n\
         x.toml:7:1: workload.poisson: only for workload.model = \"open\" (the model is \"closed\")"
    );
    let text = MINIMAL.replace("rate = \"1/s\"", "rate = \"1/s\"\nthink = \"1s\"");
    assert_eq!(
        errors(&text),
        "x.toml:6:1: workload.think: only for workload.model = \"closed\" (the model is \"open\", the default)"
    );
    let text = MINIMAL.replace("\"1/s\"", "\"lots\"");
    assert_eq!(
        errors(&text),
        "x.toml:5:8: workload.rate: \"lots\" is not a rate; accepted: N/s, N/m or N/h with N > 0, e.g. \"1/s\", \"0.5/s\", \"30/m\""
    );
}

#[test]
fn warmup_must_be_shorter_than_the_workload() {
    let text = format!("{MINIMAL}warmup = \"4m\"\n");
    assert_eq!(
        errors(&text),
        "x.toml:7:10: workload.warmup: must be shorter than workload.duration (4m), which includes it"
    );
}

#[test]
fn faults_must_fit_in_the_workload() {
    let text = format!(
        "{MINIMAL}warmup = \"30s\"\n\n[[fault]]\nkind = \"s3-outage\"\nat = \"3m\"\nduration = \"45s\"\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:11:6: fault[0].at: the fault does not fit in the workload: ends at 3m 45s after the warm-up, but the workload runs 3m 30s after it (duration 4m − warmup 30s); inject it earlier or lengthen workload.duration"
    );
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"pod-kill\"\ntarget = \"executor@4.1.0\"\nat = \"1m\"\nrepeat = 4\nevery = \"1m\"\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:11:6: fault[0].at: the fault does not fit in the workload: its last occurrence (of 4) is injected at 4m after the warm-up, but the workload runs 4m after it (duration 4m − warmup 0s); inject it earlier or lengthen workload.duration"
    );
}

#[test]
fn repeats_need_an_interval_at_least_the_duration() {
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-outage\"\nat = \"30s\"\nduration = \"45s\"\nrepeat = 2\nevery = \"30s\"\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:13:9: fault[0].every: must be at least fault[0].duration (45s): each occurrence is healed before the next is injected"
    );
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-outage\"\nat = \"30s\"\nduration = \"45s\"\nrepeat = 2\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:12:10: fault[0].every: required when repeat > 1 (here 2): the time from one injection to the next"
    );
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-outage\"\nat = \"30s\"\nduration = \"45s\"\nevery = \"1m\"\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:12:1: fault[0].every: only with repeat > 1 (the fault is injected once)"
    );
}

#[test]
fn compat_and_upgrade_tables_belong_to_their_kind() {
    let text = format!("{MINIMAL}\n[compat]\nstatements = [\"probes\"]\n");
    assert_eq!(
        errors(&text),
        "x.toml:8:2: compat: only for kind = \"compat\" (this scenario is kind = \"chaos\")"
    );
    let text = "name = \"t\"\ndescription = \"d\"\nkind = \"compat\"\n";
    assert_eq!(
        errors(text),
        "x.toml:3:8: compat: required for kind = \"compat\"; add a [compat] table (e.g. statements = [\"tpcds\", \"probes\"])"
    );
    let text = MINIMAL.replace(
        "description = \"d\"",
        "description = \"d\"\nkind = \"upgrade\"",
    );
    assert_eq!(
        errors(&text),
        "x.toml:3:8: upgrade: required for kind = \"upgrade\"; add an [upgrade] table (style, from, to, cutover_at)"
    );
    let text = "name = \"t\"\ndescription = \"d\"\nkind = \"upgrade\"\n";
    assert_eq!(
        errors(text),
        "x.toml:3:8: workload: required for kind = \"upgrade\"; add a [workload] table (at least duration = \"4m\")\n\
         x.toml:3:8: upgrade: required for kind = \"upgrade\"; add an [upgrade] table (style, from, to, cutover_at)"
    );
}

#[test]
fn upgrade_versions_and_times_are_checked() {
    let text = MINIMAL.replace("description = \"d\"", "description = \"d\"\nkind = \"upgrade\"\nspark = [\"4.1.0\"]")
        + "\n[upgrade]\nstyle = \"in-place\"\nfrom = \"4.1.0\"\nto = \"4.1.0\"\ncutover_at = \"5m\"\nrollback_at = \"1m\"\n";
    assert_eq!(
        errors(&text),
        "x.toml:13:6: upgrade.to: must differ from upgrade.from (4.1.0)\n\
         x.toml:14:14: upgrade.cutover_at: must be before the end of the workload (4m after the warm-up)\n\
         x.toml:15:15: upgrade.rollback_at: must be after upgrade.cutover_at (5m)"
    );
    let text = MINIMAL.replace("description = \"d\"", "description = \"d\"\nkind = \"upgrade\"\nspark = [\"4.1.0\"]")
        + "\n[upgrade]\nstyle = \"blue-green\"\nfrom = \"3.5.7\"\nto = \"4.1.0\"\ncutover_at = \"1m\"\n";
    assert_eq!(
        errors(&text),
        "x.toml:12:8: upgrade.from: Spark 3.5.7 is not run by this scenario (spark = [\"4.1.0\"]); an upgrade needs both versions"
    );
}

#[test]
fn the_fault_catalogue_checks_kinds_targets_and_params() {
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-outage\"\nat = \"30s\"\nduration = \"45s\"\nparams = {{ mode = \"unplug\" }}\n"
    );
    let e = errors(&text);
    assert!(e.starts_with("x.toml:12:19: fault[0].params.mode: "), "{e}");
    assert!(e.contains("unplug"), "{e}");
    // Numbers are handed to the catalogue as text.
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-throttling\"\nat = \"30s\"\nduration = \"45s\"\nparams = {{ fraction = 1.5 }}\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:12:23: fault[0].params.fraction: `1.5` is not a fraction between 0 and 1"
    );
    let text =
        format!("{MINIMAL}\n[[fault]]\nkind = \"latency\"\nat = \"30s\"\nduration = \"45s\"\n");
    let e = errors(&text);
    assert!(
        e.starts_with("x.toml:9:8: fault[0].target: `latency` needs a target; accepted: "),
        "{e}"
    );
    // Versions the scenario does not run, replicas that do not exist.
    let text = MINIMAL.replace(
        "description = \"d\"",
        "description = \"d\"\nspark = [\"4.1.0\"]",
    ) + "\n[[fault]]\nkind = \"pod-kill\"\ntarget = \"executor@3.5.7\"\nat = \"30s\"\n\
           \n[[fault]]\nkind = \"pod-kill\"\ntarget = \"connect@4.1.0#1\"\nat = \"30s\"\n";
    assert_eq!(
        errors(&text),
        "x.toml:11:10: fault[0].target: names Spark 3.5.7, which this scenario does not run (spark = [\"4.1.0\"])\n\
         x.toml:16:10: fault[1].target: connect #1 does not exist: env.replicas = 1 (instances are numbered from 0)"
    );
    // A kill kept down needs a duration; a kill restarted at once does not.
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"kill\"\ntarget = \"worker@4.1.0\"\nat = \"30s\"\nparams = {{ restart = false }}\n"
    );
    assert_eq!(
        errors(&text),
        "x.toml:11:6: fault[0].duration: required when params.restart = false: how long the component stays down"
    );
    let text = format!("{MINIMAL}\n[[fault]]\nkind = \"network-partition\"\nat = \"30s\"\n");
    assert_eq!(
        errors(&text),
        "x.toml:10:6: fault[0].duration: required for \"network-partition\": how long until it is healed (e.g. duration = \"45s\")"
    );
}

#[test]
fn semantic_errors_are_all_collected() {
    let text = r#"name = "S3 Outage"
description = " "
[env]
executor_memory = "1 GB"
[env.spark_conf.all]
"sql.shuffle.partitions" = "4"
[data]
scale = 0
[workload]
model = "closed"
queries = ["q3", "q100", "q3"]
duration = "1m"
write_batch = 5
[checks]
availability_before = 1.5
lost_writes = 0
recovery_within = "1m"
"#;
    assert_eq!(
        errors(text),
        "x.toml:1:8: name: \"S3 Outage\" is not a scenario name; accepted: lower-case letters, digits, \"-\" and \".\", starting with a letter or digit (e.g. \"s3-outage\", \"upgrade-3.5-to-4.1\")\n\
         x.toml:2:15: description: must not be empty; say in one sentence what happens, to what, under which load\n\
         x.toml:4:19: env.executor_memory: \"1 GB\" is not a JVM memory size; accepted: a number with k, m, g or t, e.g. \"512m\", \"1g\"\n\
         x.toml:6:1: env.spark_conf.all.\"sql.shuffle.partitions\": \"sql.shuffle.partitions\" is not a Spark setting; accepted: keys starting with \"spark.\" (e.g. \"spark.sql.shuffle.partitions\", \"spark.hadoop.fs.s3a.retry.limit\")\n\
         x.toml:8:9: data.scale: 0 is out of range; accepted: greater than 0, at most 100\n\
         x.toml:11:18: workload.queries[1]: unknown query \"q100\"; accepted: \"q1\" … \"q99\" (or queries = \"quick\" / \"all\" instead of a list)\n\
         x.toml:11:26: workload.queries[2]: duplicate query \"q3\"; each query may appear once\n\
         x.toml:13:1: workload.write_batch: only with workload.writes = true (the write workload is off)\n\
         x.toml:15:23: checks.availability_before: 1.5 is out of range; accepted: 0 to 1 (the fraction of operations that are ok)\n\
         x.toml:16:1: checks.lost_writes: needs workload.writes = true: without the write workload there is nothing to lose or duplicate\n\
         x.toml:17:1: checks.recovery_within: needs at least one [[fault]]: it judges the time during or after faults"
    );
}

#[test]
fn positions_count_characters_from_one() {
    let text = "a = 1\nbé = \"x\"\n";
    assert_eq!(error::Pos::of_offset(text, 0), Pos { line: 1, column: 1 });
    assert_eq!(error::Pos::of_offset(text, 6), Pos { line: 2, column: 1 });
    // After `bé = ` (6 bytes, 5 characters).
    assert_eq!(error::Pos::of_offset(text, 12), Pos { line: 2, column: 6 });
    assert_eq!(error::Pos::of_offset(text, 999), Pos { line: 3, column: 1 });
}

#[test]
fn accessors_describe_the_schedule() {
    let text = format!(
        "{MINIMAL}\n[[fault]]\nkind = \"s3-outage\"\nat = \"30s\"\nduration = \"20s\"\nrepeat = 3\nevery = \"1m\"\n\
         \n[[fault]]\nkind = \"pod-kill\"\ntarget = \"connect@4.1.0\"\nat = \"10s\"\n"
    );
    let sc = parse(&text, "x.toml").expect("valid");
    let s = |n| Duration::from_secs(n);
    assert_eq!(
        sc.faults[0].schedule(),
        vec![
            FaultWindow {
                inject: s(30),
                heal: Some(s(50))
            },
            FaultWindow {
                inject: s(90),
                heal: Some(s(110))
            },
            FaultWindow {
                inject: s(150),
                heal: Some(s(170))
            },
        ]
    );
    assert_eq!(sc.faults[0].end(), s(170));
    assert!(!sc.faults[0].is_instantaneous());
    assert!(sc.faults[1].is_instantaneous());
    assert_eq!(sc.faults[1].end(), s(10));
    let text = MINIMAL.replace(
        "rate = \"1/s\"",
        "queries = [\"q3\", \"q19\"]\nrate = \"30/m\"",
    );
    let sc = parse(&text, "x.toml").expect("valid");
    let w = sc.workload.expect("workload");
    assert_eq!(w.query_selection(), "q3,q19");
    assert_eq!(w.rate_per_second(), Some(0.5));
}

#[test]
fn spark_conf_applies_all_then_the_version() {
    let text = format!(
        "{MINIMAL}[env.spark_conf]\nall = {{ \"spark.a\" = \"1\", \"spark.b\" = \"1\" }}\n\"4.1.0\" = {{ \"spark.b\" = \"2\" }}\n"
    );
    let sc = parse(&text, "x.toml").expect("valid");
    let c41 = sc.env.spark_conf.for_line(SparkLine::V4_1);
    assert_eq!(c41.get("spark.b").map(String::as_str), Some("2"));
    let c35 = sc.env.spark_conf.for_line(SparkLine::V3_5);
    assert_eq!(c35.get("spark.b").map(String::as_str), Some("1"));
    assert_eq!(c35.len(), 2);
}

#[test]
fn round_trip_through_toml_keeps_the_scenario() {
    for entry in std::fs::read_dir(scenarios_dir()).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let sc = load(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = toml::to_string(&sc).expect("serialises");
        let again = parse(&text, "round-trip.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sc, again, "{}", path.display());
    }
}

#[test]
fn every_shipped_scenario_validates_and_is_named_like_its_file() {
    let entries = list(&scenarios_dir());
    assert!(entries.len() >= 13, "{entries:?}");
    for e in &entries {
        if let Err(why) = &e.valid {
            panic!("{} does not validate:\n{why}", e.file.display());
        }
        let stem = e.file.file_stem().and_then(|s| s.to_str()).expect("stem");
        assert_eq!(e.name, stem, "{}", e.file.display());
        assert!(!e.description.is_empty());
    }
    for name in [
        "baseline",
        "s3-outage",
        "s3-outage-tuned",
        "s3-throttling",
        "metastore-outage",
        "executor-kill",
        "driver-kill",
        "connect-replica-kill",
        "network-partition",
        "soak",
        "ci-smoke",
        "compat",
        "upgrade-3.5-to-4.1",
    ] {
        assert!(
            entries.iter().any(|e| e.name == name),
            "{name} is not shipped"
        );
    }
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"compat") && kinds.contains(&"upgrade"),
        "{kinds:?}"
    );
}

#[test]
fn ci_smoke_is_short_and_its_baseline_is_measurable() {
    let sc = load(&scenarios_dir().join("ci-smoke.toml")).unwrap_or_else(|e| panic!("{e}"));
    let w = sc.workload.as_ref().expect("workload");
    assert!(w.duration.get() <= Duration::from_secs(150));
    // At least 30 s of baseline between the warm-up and the fault (`at` counts from the end of
    // the warm-up), so that finished operations fall in the before window, and after the heal
    // at least the recovery bound to observe the recovery in.
    let f = &sc.faults[0];
    assert!(
        f.at.get() >= Duration::from_secs(30),
        "baseline {:?}",
        f.at.get()
    );
    let healed = f.at.get() + f.duration.expect("a duration").get();
    let after = w.measured().saturating_sub(healed);
    let bound = sc.checks.recovery_within.expect("recovery_within").get();
    assert!(after >= bound, "{after:?} after the heal, bound {bound:?}");
    assert_eq!(sc.checks.wrong_answers, Some(0));
    assert_eq!(sc.checks.lost_writes, Some(0));
    assert!(w.writes);
    assert_eq!(sc.faults.len(), 1);
}

#[test]
fn list_and_validate_files_report_invalid_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("good.toml"),
        MINIMAL.replace("\"t\"", "\"good\""),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("bad.toml"),
        "name = \"bad\"\ndescription = \"broken\"\nkind = \"upgrade\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not a scenario").expect("write");
    let entries = list(dir.path());
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].name, "bad");
    assert_eq!(entries[0].kind, "upgrade");
    assert_eq!(entries[0].description, "broken");
    let why = entries[0].valid.as_ref().expect_err("invalid");
    assert!(why.contains("bad.toml:3:8: workload: required"), "{why}");
    assert_eq!(entries[1].name, "good");
    assert_eq!(entries[1].valid, Ok(()));

    let missing = dir.path().join("missing.toml");
    let results = validate_files(&[dir.path().join("good.toml"), missing.clone()]);
    assert!(results[0].1.is_ok());
    let e = results[1].1.as_ref().expect_err("missing");
    assert_eq!(e.len(), 1);
    assert!(e.errors()[0].pos.is_none());
    assert!(
        e.to_string().starts_with(&format!(
            "{}: cannot read the scenario file: ",
            missing.display()
        )),
        "{e}"
    );
}

#[test]
fn the_schema_is_json_and_documents_every_field() {
    let text = schema_json();
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let props = v["properties"].as_object().expect("properties");
    for field in [
        "name",
        "description",
        "kind",
        "platform",
        "spark",
        "env",
        "data",
        "workload",
        "fault",
        "checks",
        "compat",
        "upgrade",
        "bench",
        "report",
    ] {
        let p = props
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing"));
        assert!(p.get("description").is_some(), "{field} has no description");
    }
    assert_eq!(props.len(), 14);
    assert_eq!(v["additionalProperties"], serde_json::Value::Bool(false));
    // Definitions are documented too, down to fault kinds.
    let defs = v["definitions"].as_object().expect("definitions");
    let workload = &defs["WorkloadSpec"]["properties"];
    assert!(workload["rate"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("N/s")));
    assert!(text.contains("\"s3-outage\""));
    assert!(text.contains("SIGKILL"));
    // TOML has no null.
    assert!(!text.contains("\"null\""));
}

#[test]
fn what_kubernetes_cannot_do_is_placed_at_its_field() {
    let text = format!(
        "platform = \"kubernetes\"\n{MINIMAL}\n[[fault]]\nkind = \"pause\"\ntarget = \"connect@4.1.0\"\nat = \"30s\"\nduration = \"10s\"\n\n[[fault]]\nkind = \"kill\"\ntarget = \"worker@3.5.7\"\nat = \"60s\"\n"
    );
    let e = errors(&text);
    assert!(
        e.contains("x.toml:10:8: fault[0].kind: cannot run on kubernetes (platform = \"kubernetes\"): `pause` cannot be done on kubernetes"),
        "{e}"
    );
    assert!(
        e.contains("x.toml:17:10: fault[1].target: cannot run on kubernetes (platform = \"kubernetes\"): there is no `worker` on kubernetes"),
        "{e}"
    );
    // A link fault other than a cut needs the proxy, which runs in front of S3 only.
    let slow = format!(
        "platform = \"kubernetes\"\n{MINIMAL}\n[[fault]]\nkind = \"metastore-outage\"\ntarget = \"metastore@4.1.0\"\nat = \"30s\"\nduration = \"10s\"\nparams = {{ mode = \"slow\" }}\n"
    );
    let e = errors(&slow);
    assert!(
        e.contains("x.toml:10:8: fault[0].kind: cannot run on kubernetes (platform = \"kubernetes\"): `metastore-outage` (latency) needs the fault proxy in front of the service; on kubernetes the proxy runs in front of S3 only"),
        "{e}"
    );
    // The same file is valid locally, and refused when the command line picks kubernetes.
    let local = text.replacen("platform = \"kubernetes\"\n", "", 1);
    assert!(parse(&local, "x.toml").is_ok());
    let e = crate::scenario::parse_on(&local, "x.toml", Some(Platform::Kubernetes))
        .unwrap_err()
        .to_string();
    assert!(e.contains("(--platform kubernetes)"), "{e}");
    // The compat scenario is refused at `kind`; the upgrades run there (blue/green Services).
    let compat = std::fs::read_to_string(scenarios_dir().join("compat.toml")).unwrap();
    let e = crate::scenario::parse_on(&compat, "c.toml", Some(Platform::Kubernetes))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("kind: `compat` scenarios cannot run on kubernetes"),
        "{e}"
    );
}

#[test]
fn the_shipped_fault_scenarios_validate_for_kubernetes() {
    for f in [
        "ci-smoke",
        "executor-kill",
        "network-partition",
        "s3-outage",
        "metastore-outage",
        "driver-kill",
        // S3 protocol and stream faults, through the fault proxy pods.
        "s3-throttling",
        // The upgrades, through the edge Services.
        "upgrade-3.5-to-4.1",
        "upgrade-in-place",
        "s3-outage-tuned",
        "soak",
    ] {
        let text = std::fs::read_to_string(scenarios_dir().join(format!("{f}.toml"))).unwrap();
        if let Err(e) = crate::scenario::parse_on(&text, f, Some(Platform::Kubernetes)) {
            panic!("{f}: {e}");
        }
    }
}
