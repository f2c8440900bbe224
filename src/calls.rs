//! Counts the AWS API calls a command makes, per operation, through an SDK interceptor: a
//! no-op re-deploy must make reads only, and `--output json` shows the count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::live_tail::KeepEndpointHost;

#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl CallCounter {
    /// `service:Operation` -> count.
    pub fn counts(&self) -> BTreeMap<String, u32> {
        self.calls.lock().expect("not poisoned").clone()
    }

    /// Operations that change something (everything but Describe, List, Get, BatchGet and
    /// BatchCheck calls).
    pub fn writes(&self) -> Vec<String> {
        self.counts()
            .into_keys()
            .filter(|op| {
                let name = op.rsplit(':').next().unwrap_or(op);
                !["Describe", "List", "Get", "BatchGet", "BatchCheck"]
                    .iter()
                    .any(|read| name.starts_with(read))
            })
            .collect()
    }

    pub fn total(&self) -> u32 {
        self.counts().values().sum()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "shipit-call-counter"
    }

    // Not `read_before_execution`: for client-level interceptors that runs before the operation's
    // metadata is in the bag. This runs once per operation (retries are not counted twice).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let key = format!("{}:{}", meta.service(), meta.name());
            *self
                .calls
                .lock()
                .expect("not poisoned")
                .entry(key)
                .or_default() += 1;
        }
        Ok(())
    }
}

/// The SDK clients a deploy uses, all counting their calls.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub calls: CallCounter,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        let calls = CallCounter::default();
        Clients {
            ecr: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf({
                let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(sdk);
                logs.push_interceptor(SharedInterceptor::new(calls.clone()));
                if sdk.endpoint_url().is_some() {
                    logs.push_interceptor(SharedInterceptor::new(KeepEndpointHost));
                }
                logs.build()
            }),
            calls,
        }
    }
}
