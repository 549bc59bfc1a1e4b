//! Liveness (`/healthz`: the process answers, no I/O) and readiness (`/readyz`: the store
//! answers and the key ring is loaded; 503 with the reason otherwise), for load balancers and
//! orchestrators. Both are left out of the access log.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::context::Context;

/// Liveness answer.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// The outcome of each readiness check: `ok` or why it failed.
#[derive(Debug, Object)]
pub struct ReadinessChecks {
    /// The store (`memory` or Redis) answers.
    pub store: String,
    /// The signing keys are loaded.
    pub keys: String,
}

/// Readiness answer.
#[derive(Debug, Object)]
pub struct ReadinessReport {
    /// `ready` or `unavailable`.
    pub status: String,
    /// Each check.
    pub checks: ReadinessChecks,
}

#[derive(ApiResponse)]
enum LivenessResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<Liveness>),
}

#[derive(ApiResponse)]
enum ReadinessResponse {
    /// Ready to serve requests.
    #[oai(status = 200)]
    Ready(Json<ReadinessReport>),
    /// Not ready: a check failed (see `checks`).
    #[oai(status = 503)]
    Unavailable(Json<ReadinessReport>),
}

/// Health endpoints.
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl HealthApi {
    /// Liveness
    ///
    /// Answers 200 while the process runs; does no I/O.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> LivenessResponse {
        LivenessResponse::Ok(Json(Liveness {
            status: "ok".into(),
        }))
    }

    /// Readiness
    ///
    /// 200 when the store answers and the signing keys are loaded; 503 with the reason otherwise.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, ctx: Data<&Arc<Context>>) -> ReadinessResponse {
        let readiness = ctx.readiness().await;
        let describe = |check: &Result<(), String>| match check {
            Ok(()) => "ok".to_owned(),
            Err(reason) => reason.clone(),
        };
        let report = ReadinessReport {
            status: if readiness.is_ready() {
                "ready"
            } else {
                "unavailable"
            }
            .into(),
            checks: ReadinessChecks {
                store: describe(&readiness.store),
                keys: describe(&readiness.keys),
            },
        };
        if readiness.is_ready() {
            ReadinessResponse::Ready(Json(report))
        } else {
            ReadinessResponse::Unavailable(Json(report))
        }
    }
}
