//! The dataset catalog: ids, objectives, resources, regions.

use super::*;

pub fn catalog(raw: &raw::CatalogFile, cx: &mut Cx) -> Option<Catalog> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let datasets = raw.datasets.as_deref().unwrap_or_default();
    for d in datasets {
        if let Some(id) = &d.id {
            check_id(cx, id);
        }
        for (name, value) in [("rpo", &d.rpo), ("rto", &d.rto), ("drill_every", &d.drill_every)] {
            if let Some(v) = value
                && v.0 == 0
            {
                cx.push(Diag::new(Kind::Zero(name), v.span));
            }
        }
    }
    for d in datasets {
        for l in [&d.primary, &d.backup].into_iter().flatten() {
            aws_names(cx, l.region.as_ref(), l.account.as_ref());
        }
    }
    for r in datasets.iter().flat_map(|d| d.resources.iter().flatten()) {
        sim_size(cx, r);
        batch_setup(cx, r);
        aws_names(cx, r.region.as_ref(), None);
        if let Some(id) =
            r.id.as_ref().filter(|_| r.kind.as_ref().is_some_and(|k| k.value == raw::ResourceKind::S3Bucket))
            && !bucket_name_ok(&id.value)
        {
            cx.push(
                Diag::new(Kind::NotAws(format!("`{}` is not an S3 bucket name", clip(&id.value))), id.span)
                    .help("3–63 of a-z 0-9 . - (no `/`, no capitals)"),
            );
        }
    }
    if let Some(e) = &raw.evidence {
        evidence_bucket(cx, e);
    }
    check_unique(cx, "dataset", datasets.iter().filter_map(|d| d.id.as_ref()));
    if errors_since(cx, mark) {
        return None;
    }
    let loc = |l: &raw::Location| Location {
        region: l.region.as_ref().map(|r| r.value.clone()).unwrap_or_default(),
        account: l.account.as_ref().map(|a| a.value.clone()),
    };
    let evidence = raw.evidence.as_ref().map(|e| EvidenceStore {
        bucket: e.bucket.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
        region: e.region.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
        prefix: match e.prefix.as_ref().map(|v| v.value.trim_matches('/')) {
            None | Some("") => String::new(),
            Some(p) => format!("{p}/"),
        },
    });
    Some(Catalog {
        evidence,
        datasets: datasets
            .iter()
            .map(|d| Dataset {
                id: d.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                title: d.title.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                owner: d.owner.as_ref().map(|v| v.value.clone()),
                classification: d.classification.as_ref().map(|v| v.value).unwrap_or(Classification::Internal),
                rpo: d.rpo.as_ref().map(|v| v.value).unwrap_or_default(),
                rto: d.rto.as_ref().map(|v| v.value).unwrap_or_default(),
                primary: d.primary.as_ref().map(loc).unwrap_or(Location { region: String::new(), account: None }),
                backup: d.backup.as_ref().map(loc),
                resources: d
                    .resources
                    .iter()
                    .flatten()
                    .map(|r| Resource {
                        kind: r.kind.as_ref().map(|v| v.value).unwrap_or(raw::ResourceKind::S3Bucket),
                        id: r.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                        role: r.role.as_ref().map(|v| v.value).unwrap_or(raw::Role::Production),
                        // A backup listed without a region is where the dataset's
                        // backup is: a step that names that region must find it there.
                        region: r.region.as_ref().map(|v| v.value.clone()).or_else(|| {
                            let backup = r.role.as_ref().is_some_and(|v| v.value == raw::Role::Backup);
                            backup.then(|| d.backup.as_ref().map(|b| loc(b).region)).flatten().filter(|r| !r.is_empty())
                        }),
                        sim: r.sim.as_ref().map(|s| {
                            let objects = s.objects.as_ref().map_or(1, |o| o.value as u64);
                            let prefixes =
                                s.prefixes.as_ref().map_or(objects.div_ceil(SimSize::PER_PREFIX), |p| p.value as u64);
                            SimSize { objects, prefixes: prefixes.clamp(1, objects) }
                        }),
                        batch: r.batch.as_ref().map(|b| BatchSetup {
                            role: b.role.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                            reports: b.reports.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                            above: b.above.as_ref().map(|v| v.value as u64),
                        }),
                    })
                    .collect(),
                drill_every: d.drill_every.as_ref().map(|v| v.value),
            })
            .collect(),
    })
}

/// `sim:` sizes a bucket of the simulated cloud: whole numbers above zero, at most a
/// billion objects, and no more prefixes than objects.
fn sim_size(cx: &mut Cx, r: &raw::Resource) {
    let Some(size) = &r.sim else { return };
    if let Some(kind) = r.kind.as_ref().filter(|k| k.value != raw::ResourceKind::S3Bucket) {
        let at = size.objects.as_ref().map(|o| o.span).unwrap_or(kind.span);
        cx.push(
            Diag::new(Kind::BadSimSize("sizes s3-bucket resources only".into()), at)
                .help("remove `sim:` from this resource; the simulated cloud sizes buckets, not instances or tables"),
        );
    }
    if let Some(o) = &size.objects {
        if o.value == 0 {
            cx.push(Diag::new(Kind::Zero("sim.objects"), o.span));
        } else if o.value as u64 > SimSize::MAX_OBJECTS {
            cx.push(
                Diag::new(Kind::BadSimSize(format!("holds at most {} objects", SimSize::MAX_OBJECTS)), o.span)
                    .help("rehearse with at most a billion objects"),
            );
        }
    }
    if let (Some(o), Some(p)) = (&size.objects, &size.prefixes) {
        if p.value == 0 {
            cx.push(Diag::new(Kind::Zero("sim.prefixes"), p.span));
        } else if p.value as u64 > crate::runbook::simulated::MAX_PREFIXES {
            cx.push(
                Diag::new(Kind::BadSimSize("spreads keys over at most 10,000 prefixes".into()), p.span)
                    .help("give at most 10,000 prefixes"),
            );
        } else if p.value > o.value {
            cx.push(
                Diag::new(Kind::BadSimSize("has more prefixes than objects".into()), p.span)
                    .help("give at most as many prefixes as objects"),
            );
        }
    }
}

/// `batch:` is for buckets: an IAM role's ARN for S3 to assume, and a bucket name for the
/// manifest and the report that is not the bucket rolled back (a report written under
/// the roll-back's prefix would be one more change to it).
/// A region becomes part of a host name the SDK calls (`rds.REGION.amazonaws.com`): one
/// like `evil.example.com#` would send signed requests elsewhere. An account is twelve
/// digits.
fn aws_names(cx: &mut Cx, region: Option<&Sp<String>>, account: Option<&Sp<String>>) {
    if let Some(r) = region.filter(|r| !is_region(&r.value)) {
        cx.push(
            Diag::new(Kind::NotAws(format!("`{}` is not an AWS region", clip(&r.value))), r.span)
                .help("e.g. eu-central-1, us-gov-west-1"),
        );
    }
    if let Some(a) = account.filter(|a| a.value.len() != 12 || !a.value.bytes().all(|b| b.is_ascii_digit())) {
        cx.push(
            Diag::new(Kind::NotAws(format!("`{}` is not an AWS account id", clip(&a.value))), a.span)
                .help("twelve digits, quoted: account: \"123456789012\""),
        );
    }
}

/// `eu-west-1`, `us-gov-west-1`: letters, a dash, letters and dashes, a digit last.
pub fn is_region(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

fn bucket_name_ok(v: &str) -> bool {
    (3..=63).contains(&v.len())
        && v.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && v.as_bytes()[0].is_ascii_alphanumeric()
}

fn evidence_bucket(cx: &mut Cx, e: &raw::EvidenceBucket) {
    if let Some(b) = e.bucket.as_ref().filter(|b| !bucket_name_ok(&b.value)) {
        cx.push(
            Diag::new(Kind::BadEvidence(format!("bucket `{}` is not a bucket name", b.value)), b.span)
                .help("name the object-locked bucket the logs are copied to (3–63 of a-z 0-9 . -)"),
        );
    }
    if let Some(r) = e.region.as_ref().filter(|r| !is_region(&r.value)) {
        cx.push(
            Diag::new(Kind::BadEvidence(format!("region `{}` is not an AWS region", r.value)), r.span)
                .help("give the bucket's region, e.g. eu-west-1"),
        );
    }
    if let Some(p) = e.prefix.as_ref().filter(|p| p.value.chars().any(|c| c.is_control()) || p.value.contains("..")) {
        cx.push(
            Diag::new(Kind::BadEvidence("prefix holds control characters or `..`".into()), p.span)
                .help("use a plain key prefix such as `runs/`"),
        );
    }
}

fn batch_setup(cx: &mut Cx, r: &raw::Resource) {
    let Some(b) = &r.batch else { return };
    if let Some(kind) = r.kind.as_ref().filter(|k| k.value != raw::ResourceKind::S3Bucket) {
        let at = b.role.as_ref().map(|o| o.span).unwrap_or(kind.span);
        cx.push(
            Diag::new(Kind::BadBatch("is for s3-bucket resources only".into()), at)
                .help("remove `batch:` from this resource"),
        );
    }
    if let Some(role) = &b.role
        && !is_role_arn(&role.value)
    {
        cx.push(
            Diag::new(Kind::BadBatch(format!("role `{}` is not an IAM role ARN", role.value)), role.span)
                .help("give the ARN of the role S3 Batch Operations assumes: arn:aws:iam::123456789012:role/NAME"),
        );
    }
    if let Some(rep) = &b.reports {
        let v = &rep.value;
        if !bucket_name_ok(v) {
            cx.push(
                Diag::new(Kind::BadBatch(format!("reports `{v}` is not a bucket name")), rep.span)
                    .help("name the bucket the job's manifest and completion report go to (3–63 of a-z 0-9 . -)"),
            );
        } else if r.id.as_ref().is_some_and(|id| &id.value == v) {
            cx.push(
                Diag::new(Kind::BadBatch("reports go to the bucket rolled back".into()), rep.span)
                    .help("name another bucket for the manifest and report"),
            );
        }
    }
    if let Some(a) = &b.above
        && a.value == 0
    {
        cx.push(Diag::new(Kind::Zero("batch.above"), a.span));
    }
}

fn is_role_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    let (arn, partition, iam, region, account, rest) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next());
    arn == Some("arn")
        && partition.is_some_and(|p| p.starts_with("aws"))
        && iam == Some("iam")
        && region == Some("")
        && account.is_some_and(|a| a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()))
        && rest.is_some_and(|r| r.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}
