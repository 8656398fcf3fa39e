//! The simulated cloud: the same service operations as AWS (`cloud::port`), in memory,
//! with AWS's semantics where the actions rely on them (versions and delete markers,
//! object lock refusing deletes, ETags of parts, instances and tables that take time to
//! become available on the run's clock, snapshot copies across regions), a latency
//! model, and failures a facilitator or a test can switch on.

mod dynamodb;
mod model;
mod rds;
mod s3;
mod s3control;
mod seed;
pub mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;

pub use model::Model;
pub use seed::{DELETED_PREFIX, Damage};
pub use world::{Bucket, Content, Instance, Snapshot, Table, Version, World};

use super::port::dynamodb::DynamoApi;
use super::port::rds::RdsApi;
use super::port::s3::S3Api;
use super::port::s3control::S3ControlApi;
use super::port::sts::{Caller, StsApi};
use super::port::{Api, ApiError, Backend, Reach};
use super::{ActionCall, ActionCtx, ActionError, BoxFuture};
use crate::clock::Clock;
use crate::runbook::model::Catalog;
use crate::runbook::time::Timestamp;

/// A failure switched on for an action or a step (a rehearsal's injects).
#[derive(Debug, Clone)]
pub struct Inject {
    pub action: Option<String>,
    pub step: Option<String>,
    /// Instead of an action: one service operation (see [`OPERATIONS`]), whichever step
    /// sends it; played as a [`Fault`], retried as the SDK retries its code.
    pub operation: Option<String>,
    pub code: String,
    pub message: String,
    /// How many calls fail before it clears.
    pub times: u32,
    pub retryable: bool,
}

/// Every service operation the simulated cloud serves: the list lives with the runbook
/// layer, which checks injects files against it without knowing this cloud.
pub use crate::runbook::simulated::OPERATIONS;

/// A failure of one service operation (`CopyObject`, `ListObjectVersions`, …): the
/// next `times` requests to it fail with `code`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub operation: String,
    pub code: String,
    pub times: u32,
    /// What the error says (else the code, and that the fault was switched on).
    pub message: Option<String>,
}

/// A clone is the same simulated cloud: it shares the world, the injects and the counts.
#[derive(Clone)]
pub struct Sim {
    pub(crate) state: Arc<State>,
}

pub(crate) struct State {
    world: Mutex<World>,
    injects: Mutex<Vec<Inject>>,
    faults: Mutex<Vec<Fault>>,
    requests: Mutex<BTreeMap<String, u64>>,
    model: Mutex<Model>,
    rates: Mutex<std::collections::HashMap<Partition, (f64, Timestamp)>>,
}

/// (bucket, prefix, writes): what S3 counts a request rate against, with the requests it
/// may still take this second and when they were last counted.
type Partition = (String, String, bool);

/// Which of S3's per-prefix request rates a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Read,
    Write,
}

/// The SDK's standard retry mode, which the simulated cloud's clients play as AWS's do:
/// three attempts, backoff from 1 s with jitter (here repeatable).
const ATTEMPTS: u32 = 3;

impl State {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn model(&self) -> Model {
        *self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// S3's per-prefix request rate: a request over it is answered `503 SlowDown`
    /// (which the SDK retries, and after that the roll-back's pace backs off from).
    pub(crate) fn admit(&self, bucket: &str, key: &str, class: Class, now: Timestamp) -> Api<()> {
        let model = self.model();
        let Some(rate) = (match class {
            Class::Read => model.s3_reads_per_prefix,
            Class::Write => model.s3_writes_per_prefix,
        }) else {
            return Ok(());
        };
        let prefix = key.split_once('/').map_or("", |(p, _)| p);
        let rate = rate.max(1) as f64;
        let mut rates = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) =
            rates.entry((bucket.to_string(), prefix.to_string(), class == Class::Write)).or_insert((rate, now));
        let refill = at.duration_until(now).as_secs_f64().max(0.0) * rate;
        *tokens = (*tokens + refill).min(rate);
        *at = now.max(*at);
        if *tokens < 1.0 {
            return Err(ApiError::new("SlowDown", "Please reduce your request rate."));
        }
        *tokens -= 1.0;
        Ok(())
    }

    /// One request: counted, its latency waited on the run's clock, its injected fault
    /// played — and retried as the SDK would when the fault is one it retries.
    pub(crate) async fn request<T>(
        &self,
        clock: &Arc<dyn Clock>,
        operation: &str,
        latency: StdDuration,
        work: impl Fn(&State, Timestamp) -> Api<T>,
    ) -> Api<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            *self.requests.lock().unwrap_or_else(|e| e.into_inner()).entry(operation.to_string()).or_default() += 1;
            clock.sleep(latency).await;
            let fault = {
                let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
                faults.iter_mut().find(|f| f.times > 0 && f.operation == operation).map(|f| {
                    f.times -= 1;
                    let message = f.message.clone().unwrap_or_else(|| f.code.clone());
                    ApiError::new(&f.code, format!("{message} (a fault switched on in the simulated cloud)"))
                })
            };
            let result = match fault {
                Some(e) => Err(e),
                None => work(self, clock.now()),
            };
            match result {
                Err(e) if e.retryable() && attempt < ATTEMPTS => {
                    let jitter = world::det(&format!("{operation}{attempt}"), 0, 500);
                    clock.sleep(StdDuration::from_millis((1000 << (attempt - 1)) + jitter)).await;
                }
                other => return other,
            }
        }
    }
}

impl Sim {
    /// Every resource of the catalog, with history, and the damage of a ransomware
    /// attack between `incident` and `now` in every production bucket.
    pub fn seeded(catalog: &Catalog, now: Timestamp, incident: Timestamp) -> Sim {
        Sim::seeded_for(catalog, now, incident, None, Damage::Ransomware)
    }

    /// The same world, damaged as `damage` says in `dataset`'s production buckets only
    /// (every dataset's when `None`).
    pub fn seeded_for(
        catalog: &Catalog,
        now: Timestamp,
        incident: Timestamp,
        dataset: Option<&str>,
        damage: Damage,
    ) -> Sim {
        Sim::of(seed::world(catalog, now, incident, dataset, damage))
    }

    pub fn of(world: World) -> Sim {
        Sim {
            state: Arc::new(State {
                rates: Mutex::default(),
                world: Mutex::new(world),
                injects: Mutex::new(Vec::new()),
                faults: Mutex::new(Vec::new()),
                requests: Mutex::new(BTreeMap::new()),
                model: Mutex::new(Model::default()),
            }),
        }
    }

    pub fn with_model(self, model: Model) -> Sim {
        *self.state.model.lock().unwrap_or_else(|e| e.into_inner()) = model;
        self
    }

    pub fn inject(&self, inject: Inject) {
        if let Some(operation) = inject.operation {
            let fault = Fault { operation, code: inject.code, times: inject.times, message: Some(inject.message) };
            self.state.faults.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
            return;
        }
        self.state.injects.lock().unwrap_or_else(|e| e.into_inner()).push(inject);
    }

    pub fn fault(&self, operation: &str, code: &str, times: u32) {
        self.state.faults.lock().unwrap_or_else(|e| e.into_inner()).push(Fault {
            operation: operation.into(),
            code: code.into(),
            times,
            message: None,
        });
    }

    /// Requests made to each operation so far (retries counted), for tests.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A look at the world, for tests and the facilitator.
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.state.world())
    }
}

impl Backend for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn s3<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn S3Api>>> {
        Box::pin(async move {
            if let Some(role) = &at.role_arn {
                at.clock.sleep(self.state.model().control).await;
                if !is_role_arn(role) {
                    return Err(ApiError::new(
                        "AccessDenied",
                        format!(
                            "cannot assume `{role}`: it is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
                        ),
                    ));
                }
            }
            Ok(Arc::new(s3::SimS3 {
                state: self.state.clone(),
                region: at.region.clone(),
                clock: at.clock.clone(),
                model: self.state.model(),
            }) as Arc<dyn S3Api>)
        })
    }

    fn rds<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn RdsApi>>> {
        Box::pin(async move {
            Ok(Arc::new(rds::SimRds {
                state: self.state.clone(),
                region: at.region.clone(),
                clock: at.clock.clone(),
                model: self.state.model(),
            }) as Arc<dyn RdsApi>)
        })
    }

    fn dynamodb<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn DynamoApi>>> {
        Box::pin(async move {
            Ok(Arc::new(dynamodb::SimDynamo {
                state: self.state.clone(),
                region: at.region.clone(),
                clock: at.clock.clone(),
                model: self.state.model(),
            }) as Arc<dyn DynamoApi>)
        })
    }

    fn s3control<'a>(&'a self, at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn S3ControlApi>>> {
        Box::pin(async move {
            Ok(Arc::new(s3control::SimS3Control {
                state: self.state.clone(),
                region: at.region.clone(),
                clock: at.clock.clone(),
                model: self.state.model(),
            }) as Arc<dyn S3ControlApi>)
        })
    }

    fn sts<'a>(&'a self, _at: &'a Reach) -> BoxFuture<'a, Api<Arc<dyn StsApi>>> {
        Box::pin(async move { Ok(Arc::new(SimSts) as Arc<dyn StsApi>) })
    }

    fn not_found_hint(&self) -> Option<&'static str> {
        Some("--cloud sim knows the resources of datasets.yaml")
    }
}

/// What AWS takes for a role to assume (STS, or S3 Batch Operations' job role).
fn is_role_arn(role: &str) -> bool {
    role.starts_with("arn:aws:iam::") && role.contains(":role/")
}

/// The simulated cloud's credentials: a rehearsal role in no real account.
struct SimSts;

impl StsApi for SimSts {
    fn caller_identity(&self) -> BoxFuture<'_, Api<Caller>> {
        Box::pin(async {
            Ok(Caller {
                account: "000000000000".into(),
                arn: "arn:aws:sts::000000000000:assumed-role/lifeboat-rehearsal/sim".into(),
            })
        })
    }
}

impl Sim {
    /// The simulator's own part of an action, before the action's requests: the round
    /// trip it costs on the model (a moment, even when it fails), then the failure a
    /// facilitator injected for it, if any.
    pub async fn before_action(&self, call: &ActionCall, ctx: &ActionCtx<'_>) -> Option<ActionError> {
        ctx.clock.sleep(self.state.model().control).await;
        self.injected(call)
    }

    fn injected(&self, call: &ActionCall) -> Option<ActionError> {
        let mut injects = self.state.injects.lock().unwrap_or_else(|e| e.into_inner());
        let i = injects.iter_mut().find(|i| {
            i.times > 0
                && i.action.as_deref().is_none_or(|a| a == call.spec.name)
                && i.step.as_deref().is_none_or(|s| s == call.step)
        })?;
        i.times -= 1;
        // Name what the action acts on: its target, else its first argument.
        let resource = call
            .spec
            .targets
            .iter()
            .chain(call.spec.params.iter().filter(|p| p.required).map(|p| &p.name))
            .find_map(|p| call.path(p))
            .unwrap_or(&call.step)
            .to_string();
        let mut e = ActionError::new(call.spec.name, &resource, &i.code, i.message.clone())
            .hint("a failure injected for this rehearsal");
        e.retryable = i.retryable;
        Some(e)
    }
}

#[cfg(test)]
mod operations {
    /// The operations an injects file may name are exactly those the simulated cloud
    /// serves: a name that is no request would be a rehearsal surprise that never comes.
    #[test]
    fn the_list_is_the_requests_the_simulated_cloud_serves() {
        let sources = [
            include_str!("s3.rs"),
            include_str!("s3control.rs"),
            include_str!("rds.rs"),
            include_str!("dynamodb.rs"),
            include_str!("mod.rs"),
        ];
        let mut served = std::collections::BTreeSet::new();
        for src in sources {
            for (at, _) in src.match_indices(".request(") {
                let rest = &src[at..];
                let name = rest.split('"').nth(1).unwrap_or_default();
                if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    served.insert(name.to_string());
                }
            }
        }
        let listed: std::collections::BTreeSet<String> = super::OPERATIONS.iter().map(|s| s.to_string()).collect();
        assert_eq!(served, listed);
    }
}
