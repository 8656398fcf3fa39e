//! A roll-back by S3 Batch Operations on the simulated cloud: the dry run creates the
//! job unconfirmed, only the confirmed roll-back starts it, its progress is the step's,
//! and a failed task in its completion report fails the step with the key named.

use std::sync::Arc;

use lifeboat::clock::{Clock, VirtualClock};
use lifeboat::cloud::Progress;
use lifeboat::cloud::sim::Sim;
use lifeboat::cloud::sim::world::Bucket;
use lifeboat::runbook::time::parse_timestamp;
use serde_json::{Map, Value as Json, json};

const CATALOG: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: docs\n    title: Docs\n    classification: confidential\n    rpo: 1h\n    rto: 2h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: s3-bucket, id: ledger-docs, role: production, batch: { role: \"arn:aws:iam::000000000000:role/lifeboat-batch\", reports: lifeboat-reports } }\n";

/// The simulated cloud, and a work folder of this test's own for the plans (another
/// test's roll-back of the same world would make, and remove, the same plan file).
fn sim() -> (Sim, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    // SAFETY: nextest runs each test in a process of its own.
    unsafe { std::env::set_var("LIFEBOAT_WORK_DIR", work.path()) };
    let (good, bad) =
        (parse_timestamp("2026-11-20T10:00:00Z").unwrap(), parse_timestamp("2026-11-24T03:10:00Z").unwrap());
    let mut w = crate::sim::world(good, bad);
    w.buckets.insert(
        "lifeboat-reports".into(),
        Bucket { region: "eu-central-1".into(), versioning: true, ..Bucket::default() },
    );
    (Sim::of(w), work)
}

type Outcome = (Result<Map<String, Json>, (String, String)>, Vec<Progress>);

async fn call(sim: &Sim, clock: &Arc<dyn Clock>, args: Json, step: &str) -> Outcome {
    let (r, seen) = crate::act(sim, clock.clone(), (CATALOG, None), ("s3.restore_to_time", args, step)).await;
    (r.map(|r| r.outputs).map_err(|e| (e.code.clone().unwrap_or_default(), e.to_string())), seen)
}

fn lines(p: &[Progress]) -> String {
    p.iter()
        .filter_map(|p| if let Progress::Line(l) = p { Some(l.as_str()) } else { None })
        .collect::<Vec<_>>()
        .join("\n")
}

const TIME: &str = "2026-11-24T03:00:00Z";

/// The dry run's job: created, prepared, waiting — and nothing copied yet.
async fn planned(sim: &Sim, clock: &Arc<dyn Clock>) -> (String, String) {
    let (plan, progress) =
        call(sim, clock, json!({ "bucket": "ledger-docs", "time": TIME, "dry_run": true, "mode": "batch" }), "plan")
            .await;
    let plan = plan.unwrap();
    // 600 overwritten keys stored whole go to the job; the object stored in parts is
    // lifeboat's own (a whole copy would change its ETag).
    assert_eq!(plan["restored"], 601, "{plan:?}");
    assert_eq!(plan["batch_tasks"], 600, "{plan:?}");
    let job = plan["batch_job"].as_str().unwrap().to_string();
    assert!(
        lines(&progress).contains(&format!("job {job} created, waiting for confirmation: 600 copies")),
        "{progress:?}"
    );
    sim.with_world(|w| {
        assert_eq!(w.jobs[&job].status, "Suspended");
        let manifest = w.buckets["lifeboat-reports"].objects.keys().find(|k| k.contains("manifest-")).cloned();
        assert!(
            manifest.is_some_and(|k| k.starts_with("lifeboat/run-1/plan/")),
            "the manifest is in the reports bucket"
        );
    });
    assert_eq!(sim.requests().get("CopyObject"), None, "nothing copied before the confirmation");
    (job, plan["manifest_sha256"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_job_waits_for_its_confirmation_then_rolls_the_bucket_back_and_its_progress_is_the_step_s() {
    let (sim, _work) = sim();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(parse_timestamp("2026-11-24T04:00:00Z").unwrap(), 200.0));
    let (job, sha) = planned(&sim, &clock).await;
    // The same dry run again (a retry) finds the same job, not a second one.
    let (again, _) =
        call(&sim, &clock, json!({ "bucket": "ledger-docs", "time": TIME, "dry_run": true, "mode": "batch" }), "plan")
            .await;
    assert_eq!(again.unwrap()["batch_job"], json!(job));
    assert_eq!(sim.with_world(|w| w.jobs.len()), 1);

    // Without the confirmed job and plan, a batch roll-back does not start.
    let (refused, _) =
        call(&sim, &clock, json!({ "bucket": "ledger-docs", "time": TIME, "mode": "batch" }), "restore").await;
    assert_eq!(refused.unwrap_err().0, "BatchNotConfirmed");
    assert_eq!(sim.with_world(|w| w.jobs[&job].status.clone()), "Suspended");

    let args = json!({ "bucket": "ledger-docs", "time": TIME, "mode": "batch", "job": job, "plan_sha256": sha });
    let (out, progress) = call(&sim, &clock, args, "restore").await;
    let out = out.unwrap();
    assert_eq!((out["restored"].as_u64(), out["undeleted"].as_u64()), (Some(601), Some(300)), "{out:?}");
    let text = lines(&progress);
    assert!(text.contains(&format!("batch job {job} confirmed: 600 copies")), "{text}");
    assert!(text.contains("proved: planned again after the job"), "{text}");
    assert!(progress.contains(&Progress::Count { done: 600, total: 600, unit: "objects" }), "{progress:?}");
    let requests = sim.requests();
    let n = |op: &str| requests.get(op).copied().unwrap_or(0);
    assert_eq!((n("CreateJob"), n("UpdateJobStatus")), (2, 1), "{requests:?}");
    assert_eq!(n("CopyObject"), 600, "the job's copies, each once");
    assert_eq!(n("UploadPartCopy"), 3, "the object in parts, copied here in its parts");
    assert_eq!(n("DeleteObjects"), 1, "delete markers removed by lifeboat: Batch has no delete");
    sim.with_world(|w| {
        assert_eq!(w.jobs[&job].status, "Complete");
        let b = &w.buckets["ledger-docs"];
        for (k, vs) in &b.objects {
            assert_eq!(b.current(k).map(|v| v.etag), Some(vs[0].etag.clone()), "{k} holds its good version");
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_in_the_job_s_report_fails_the_step_with_its_key_and_a_retry_finishes_the_rest() {
    let (sim, _work) = sim();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(parse_timestamp("2026-11-24T04:00:00Z").unwrap(), 200.0));
    let (job, sha) = planned(&sim, &clock).await;
    // The job's role may not write one object: its copy is refused (not retried).
    sim.fault("CopyObject", "AccessDenied", 1);
    let args = json!({ "bucket": "ledger-docs", "time": TIME, "mode": "batch", "job": job, "plan_sha256": sha });
    let (out, progress) = call(&sim, &clock, args.clone(), "restore").await;
    let (code, message) = out.unwrap_err();
    assert_eq!(code, "BatchTaskFailed", "{message}");
    let failed = lines(&progress).lines().find(|l| l.contains(" failed: AccessDenied")).map(str::to_string);
    let failed = failed.unwrap_or_else(|| panic!("{progress:?}"));
    let key = failed.split("s3://ledger-docs/").nth(1).and_then(|r| r.split(' ').next()).unwrap().to_string();
    assert!(
        key.starts_with("docs/") && message.contains(&format!("1 of 600 copies failed in batch job {job}: {key}")),
        "{message}"
    );
    sim.with_world(|w| assert_eq!(w.jobs[&job].failed, 1));

    // Retried, the job is done: what is left (the one key) is copied here, and proved.
    let before = sim.requests().get("CopyObject").copied().unwrap_or(0);
    let (out, progress) = call(&sim, &clock, args, "restore").await;
    assert!(out.is_ok(), "{out:?}");
    assert!(lines(&progress).contains("finished before (599 copies, 1 failed)"), "{progress:?}");
    assert_eq!(sim.requests().get("CopyObject").copied().unwrap_or(0) - before, 1, "only the failed key again");
    sim.with_world(|w| {
        let b = &w.buckets["ledger-docs"];
        assert_eq!(b.current(&key).map(|v| v.etag), Some(b.objects[&key][0].etag.clone()));
    });
}

/// The AWS backend's S3 Control calls, as the SDK really sends them (captured below the
/// SDK, in place of the network), against what the API requires.
mod sdk {
    use std::sync::{Arc, Mutex};

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::body::SdkBody;
    use lifeboat::clock::SystemClock;
    use lifeboat::cloud::aws::Aws;
    use lifeboat::cloud::port::s3control::NewCopyJob;
    use lifeboat::cloud::port::{Backend, Reach};

    /// A request as sent: method, URL, headers, body.
    #[derive(Debug, Clone)]
    struct Sent {
        method: String,
        uri: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    /// Answers every request with `answer` and keeps what was sent.
    #[derive(Debug, Clone)]
    struct Capture {
        sent: Arc<Mutex<Vec<Sent>>>,
        answer: Arc<Mutex<String>>,
    }

    impl HttpConnector for Capture {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let sent = Sent {
                method: request.method().to_string(),
                uri: request.uri().to_string(),
                headers: request.headers().iter().map(|(k, v)| (k.to_lowercase(), v.to_string())).collect(),
                body: String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned(),
            };
            self.sent.lock().unwrap().push(sent);
            let body = self.answer.lock().unwrap().clone();
            let response = HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body));
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Capture {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    fn has(body: &str, element: &str) -> bool {
        body.contains(element)
    }

    #[tokio::test]
    async fn the_aws_backend_creates_an_unconfirmed_copy_job_with_every_field_the_api_requires_then_confirms_and_reads_it()
     {
        let capture = Capture { sent: Arc::default(), answer: Arc::default() };
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-central-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .http_client(capture.clone())
            .load()
            .await;
        let aws = Aws::with_config(conf);
        let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: Arc::new(SystemClock) };
        let ctl = aws.s3control(&reach).await.unwrap();
        let job = NewCopyJob {
            account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/lifeboat-batch".into(),
            target_bucket: "orders-docs-prod".into(),
            manifest_bucket: "lifeboat-reports".into(),
            manifest_key: "lifeboat/run-1/plan/manifest-0123456789abcdef.csv".into(),
            manifest_etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
            report_bucket: "lifeboat-reports".into(),
            report_prefix: "lifeboat/run-1/plan/report".into(),
            token: "lifeboat-0123456789abcdef0123456789abcdef01234567".into(),
            description: "lifeboat run-1 plan: roll back s3://orders-docs-prod".into(),
        };

        *capture.answer.lock().unwrap() =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateJobResult><JobId>8f2e-job</JobId></CreateJobResult>"
                .into();
        assert_eq!(ctl.create_copy_job(&job).await.unwrap(), "8f2e-job");
        let create = capture.sent.lock().unwrap().last().cloned().unwrap();
        assert_eq!(create.method, "POST");
        assert!(
            create.uri.starts_with("https://123456789012.s3-control.eu-central-1.amazonaws.com/v20180820/jobs"),
            "the account is the endpoint's host label: {}",
            create.uri
        );
        assert!(create.headers.contains(&("x-amz-account-id".into(), "123456789012".into())), "{:?}", create.headers);
        assert!(create.headers.iter().any(|(k, v)| k == "authorization" && v.starts_with("AWS4-HMAC-SHA256")));
        assert!(!create.body.contains("secret"), "never a secret in a request body");
        let b = &create.body;
        assert!(has(b, "<CreateJobRequest xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">"), "{b}");
        // Required by the API: ClientRequestToken, Operation, Priority, Report, RoleArn.
        for field in [
            "<ClientRequestToken>lifeboat-0123456789abcdef0123456789abcdef01234567</ClientRequestToken>",
            "<Operation><S3PutObjectCopy><TargetResource>arn:aws:s3:::orders-docs-prod</TargetResource></S3PutObjectCopy></Operation>",
            "<Priority>10</Priority>",
            "<RoleArn>arn:aws:iam::123456789012:role/lifeboat-batch</RoleArn>",
            "<Bucket>arn:aws:s3:::lifeboat-reports</Bucket>",
            "<Format>Report_CSV_20180820</Format>",
            "<Enabled>true</Enabled>",
            "<Prefix>lifeboat/run-1/plan/report</Prefix>",
            "<ReportScope>FailedTasksOnly</ReportScope>",
            // Created unconfirmed: it waits for the typed confirmation.
            "<ConfirmationRequired>true</ConfirmationRequired>",
            // The manifest: CSV of Bucket, Key, VersionId, and the ETag S3 must find.
            "<Format>S3BatchOperations_CSV_20180820</Format>",
            "<Fields><member>Bucket</member><member>Key</member><member>VersionId</member></Fields>",
            "<ObjectArn>arn:aws:s3:::lifeboat-reports/lifeboat/run-1/plan/manifest-0123456789abcdef.csv</ObjectArn>",
            "<ETag>9b2cf535f27731c974343645a3985328</ETag>",
        ] {
            assert!(has(b, field), "{field} in {b}");
        }

        *capture.answer.lock().unwrap() = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeJobResult><Job><JobId>8f2e-job</JobId><Status>Suspended</Status><ProgressSummary><TotalNumberOfTasks>600</TotalNumberOfTasks><NumberOfTasksSucceeded>0</NumberOfTasksSucceeded><NumberOfTasksFailed>0</NumberOfTasksFailed></ProgressSummary><Report><Bucket>arn:aws:s3:::lifeboat-reports</Bucket><Format>Report_CSV_20180820</Format><Enabled>true</Enabled><Prefix>lifeboat/run-1/plan/report</Prefix><ReportScope>FailedTasksOnly</ReportScope></Report></Job></DescribeJobResult>".into();
        let state = ctl.describe_job("123456789012", "8f2e-job").await.unwrap();
        assert_eq!((state.status.as_str(), state.total), ("Suspended", Some(600)));
        assert_eq!(state.report, Some(("lifeboat-reports".into(), "lifeboat/run-1/plan/report".into())));
        let describe = capture.sent.lock().unwrap().last().cloned().unwrap();
        assert_eq!(describe.method, "GET");
        assert!(describe.uri.ends_with("/v20180820/jobs/8f2e-job"), "{}", describe.uri);
        assert!(describe.headers.contains(&("x-amz-account-id".into(), "123456789012".into())));

        *capture.answer.lock().unwrap() = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<UpdateJobStatusResult><JobId>8f2e-job</JobId><Status>Ready</Status></UpdateJobStatusResult>".into();
        ctl.confirm("123456789012", "8f2e-job").await.unwrap();
        let update = capture.sent.lock().unwrap().last().cloned().unwrap();
        assert_eq!(update.method, "POST");
        assert!(
            update.uri.contains("/v20180820/jobs/8f2e-job/status?") && update.uri.contains("requestedJobStatus=Ready"),
            "{}",
            update.uri
        );
        assert!(update.headers.contains(&("x-amz-account-id".into(), "123456789012".into())));
        assert_eq!(capture.sent.lock().unwrap().len(), 3, "one request each, no retry");
    }
}

/// A plan with nothing for a job to copy (only delete markers to remove) makes no job:
/// the dry run says so, and the roll-back removes the markers itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_no_copy_for_a_job_makes_none_and_the_roll_back_still_completes() {
    let (sim, _work) = sim();
    sim.with_world(|w| {
        let b = w.buckets.get_mut("ledger-docs").unwrap();
        // Only the deleted keys stay damaged; the overwritten ones and the big object are put right.
        for vs in b.objects.values_mut() {
            if !vs.last().is_some_and(|v| v.delete_marker) {
                vs.truncate(1);
            }
        }
    });
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(parse_timestamp("2026-11-24T04:00:00Z").unwrap(), 200.0));
    let (plan, progress) =
        call(&sim, &clock, json!({ "bucket": "ledger-docs", "time": TIME, "dry_run": true, "mode": "batch" }), "plan")
            .await;
    let plan = plan.unwrap();
    assert_eq!((plan["restored"].as_u64(), plan["undeleted"].as_u64()), (Some(0), Some(300)), "{plan:?}");
    assert_eq!((plan["batch_job"].as_str(), plan["batch_tasks"].as_u64()), (Some("none"), Some(0)));
    assert!(lines(&progress).contains("no S3 Batch Operations job: the plan holds no copy for one"), "{progress:?}");
    assert_eq!(sim.requests().get("CreateJob"), None, "no job for nothing");
    let args = json!({ "bucket": "ledger-docs", "time": TIME, "mode": "batch", "job": "none", "plan_sha256": plan["manifest_sha256"] });
    let (out, _) = call(&sim, &clock, args, "restore").await;
    assert_eq!(out.unwrap()["undeleted"], 300);
    assert_eq!(sim.requests().get("DeleteObjects").copied(), Some(1));
}
