//! The grader's workload and scoring on the simulator, over the project's
//! own scenario configs (`configs/`, one per family of the course's tests).

use raftplay::grader::GraderConfig;
use raftplay::grader::{SimOptions, Workload, run_sim};

fn configs() -> Vec<GraderConfig> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");
    let configs = GraderConfig::load_all(&[dir.to_string()]).expect("scenario configs load");
    assert!(configs.len() >= 8, "a config per family, 3 and 7 replicas");
    configs
}

/// Every scenario passes every grader check, keeps every safety invariant
/// and yields a linearizable history, over several seeds.
#[test]
fn every_scenario_passes_on_many_seeds() {
    let mut failures = Vec::new();
    for config in configs() {
        for seed in 1..=6 {
            let options = SimOptions {
                seed,
                ..SimOptions::default()
            };
            let o = run_sim(&config, &options).unwrap();
            if !o.passed() {
                failures.push(format!(
                    "{} seed {seed}: checks {:?} violation {:?} linearizable {:?} incorrect {:?}",
                    o.name,
                    o.score.checks.iter().filter(|c| !c.ok).collect::<Vec<_>>(),
                    o.violation,
                    o.linearizable,
                    o.score.incorrect_examples
                ));
            }
            assert!(o.score.total_msgs > 0);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same config and seed give byte-identical traces; another seed does
/// not.
#[test]
fn runs_are_deterministic() {
    let config = configs()
        .into_iter()
        .find(|c| c.name == "advanced")
        .unwrap();
    let run = |seed| {
        let options = SimOptions {
            seed,
            trace: true,
            ..SimOptions::default()
        };
        run_sim(&config, &options).unwrap().trace.join("\n")
    };
    let first = run(7);
    assert!(first.lines().count() > 2_000, "a full trace");
    assert!(first.contains("crashes") && first.contains("network partitioned"));
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
}

/// Scores follow the grader's rules: the traffic floor fails a run that
/// sends too few messages, and a run with no acknowledged put fails `state`.
#[test]
fn grader_checks_fail_an_idle_cluster() {
    let config = configs().into_iter().find(|c| c.name == "simple").unwrap();
    let score = Workload::new(&config, 1).score(10, 0);
    let failed: Vec<&str> = score
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["state", "traffic"]);
    assert!(!score.passed);
}

/// Bad config files are refused with the field named.
#[test]
fn malformed_configs_are_refused() {
    let dir = std::env::temp_dir().join(format!("raftplay-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("not-json", "{ nope", "line 1"),
        ("missing", r#"{"lifetime": 30}"#, "missing field `replicas`"),
        (
            "range",
            r#"{"lifetime": 30, "replicas": 40, "requests": 5, "mix": 0.2,
               "tests": {"benchmarks": {"total_msgs": [1,2,3], "failures": [1,2,3],
               "duplicates": [1,2,3], "median_latency": [1,2,3]}}}"#,
            "`replicas`",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let err = GraderConfig::load(&path).unwrap_err();
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains(name), "the file is named: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Commit notices after a failover (the replica's default): with two
/// leader kills, the first costs a duplicate (nobody was told the last
/// answered put committed) and the second almost never does, because the
/// second leader announced each commit to one follower, whose vote tells
/// the third leader. Without notices, the second kill costs one too. One
/// notice per commit at most: never one to every follower holding it.
#[test]
fn notices_after_a_failover_spare_the_second_kill_its_duplicate() {
    use raftplay::raft::CommitNotice;
    use raftplay::sim::cluster::Cause;
    let config = GraderConfig::parse(
        "two-kills",
        r#"{"lifetime": 30, "replicas": 5, "requests": 300, "mix": 0.2,
            "events": [{"type": "kill_leader", "time": 8},
                       {"type": "kill_leader", "time": 16}],
            "tests": {"benchmarks": {"total_msgs": [1800, 4000, 5000],
                "failures": [1, 4, 10], "duplicates": [0, 2, 10],
                "median_latency": [0.00015, 0.005, 0.05]}}}"#,
    )
    .expect("a valid config");
    let seeds = 1..=10u64;
    let run = |notice, seed| {
        let mut options = SimOptions {
            seed,
            ..SimOptions::default()
        };
        options.raft.commit_notice = notice;
        let o = run_sim(&config, &options).unwrap();
        assert!(o.passed(), "seed {seed} with {notice:?}");
        o
    };
    let (mut with, mut without) = (0, 0);
    for seed in seeds.clone() {
        let o = run(CommitNotice::AfterFailover, seed);
        with += o.score.duplicates;
        let notices = o.by_cause.get(&Cause::CommitNotice).copied().unwrap_or(0);
        assert!(notices > 0, "seed {seed}: the second leader announces");
        assert!(
            notices <= 240,
            "seed {seed}: {notices} notices for at most 240 puts"
        );
        without += run(CommitNotice::Never, seed).score.duplicates;
    }
    let runs = seeds.count() as u64;
    assert!(
        with <= runs + 1,
        "{with} duplicates in {runs} runs with notices"
    );
    assert!(
        without >= runs * 3 / 2,
        "{without} duplicates in {runs} runs without"
    );
}

/// The course's simulator reads the share of gets that may fail to be
/// generated from `tests`, not from the top level where five of its
/// configs put it: so does this grader. A run that fails only that check
/// (chance: a get due for a client with no acknowledged put) fails the exit
/// status, unless `--forgive-generation` says otherwise; it is still
/// printed as FAIL.
#[test]
fn gets_generated_is_read_from_tests_and_can_be_forgiven() {
    let dir = std::env::temp_dir().join(format!("raftplay-generation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = |name: &str, top: &str, tests: &str| {
        let text = format!(
            r#"{{"lifetime": 10, "replicas": 3, "requests": 100, "mix": 0.9{top},
            "tests": {{{tests}"benchmarks": {{"total_msgs": [2000, 4000, 5000], "failures": [0, 1, 2],
            "duplicates": [0, 2, 5], "median_latency": [0.001, 0.005, 0.05]}}}}}}"#
        );
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        path
    };
    // Nine gets in ten: the first gets come due before any put is answered.
    let strict = config(
        "strict",
        "",
        r#""maximum_get_generation_fail_fraction": 0.0, "#,
    );
    let top = config(
        "top",
        r#", "maximum_get_generation_fail_fraction": 1.0"#,
        r#""maximum_get_generation_fail_fraction": 0.0, "#,
    );
    let lenient = config(
        "lenient",
        "",
        r#""maximum_get_generation_fail_fraction": 1.0, "#,
    );
    let gradesim = |path: &std::path::Path, extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradesim"))
            .args(["sim", path.to_str().unwrap(), "--seed", "1"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, said) = gradesim(&strict, &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("failed checks: gets generated:"), "{said}");
    assert!(said.ends_with("0 passed, 1 failed\n"), "{said}");
    // The top-level field is ignored, as the course's code ignores it.
    assert_eq!(gradesim(&top, &[]).0, Some(1));
    assert_eq!(gradesim(&lenient, &[]).0, Some(0));
    let (code, said) = gradesim(&strict, &["--forgive-generation"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("FAIL"), "{said}");
    assert!(
        said.contains("1 of the failed runs failed only \"gets generated\""),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
