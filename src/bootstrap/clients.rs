//! The config's `[[clients]]` made true in the store: each listed client upserted (marked as the
//! config's), and each client an earlier start provisioned that the config no longer lists
//! removed — its refresh-token families and codes revoked with it. Clients created at runtime
//! (admin API, CLI) are not in the provisioned list and are never touched, unless the config
//! names the same id: then the config's entry replaces them.

use super::StartError;
use crate::admin;
use crate::context::Context;
use crate::oauth::clients::{self, Client};
use crate::telemetry::{self, AuditEvent};

/// Upserts the configured clients and removes those the config dropped since the last start.
pub(super) async fn sync(ctx: &Context, configured: &[Client]) -> Result<(), StartError> {
    let store = ctx.store();
    let previous = clients::store::provisioned_ids(store).await?;
    for client in configured {
        let existing = clients::find(store, &client.client_id).await?;
        let mut client = client.clone();
        client.created_at = existing
            .as_ref()
            .map_or(ctx.clock().now_secs(), |existing| existing.created_at);
        if existing.is_some_and(|existing| !existing.from_config) {
            tracing::warn!(client_id = %client.client_id, "a client created at runtime has the id of a [[clients]] entry: the config's entry replaces it");
        }
        clients::upsert(store, &client).await?;
    }
    let ids: Vec<String> = configured.iter().map(|c| c.client_id.clone()).collect();
    for stale in previous.iter().filter(|id| !ids.contains(id)) {
        if admin::clients::remove(ctx, stale).await?.is_some() {
            telemetry::record(AuditEvent::ClientRemoved { client_id: stale });
        }
    }
    clients::store::record_provisioned_ids(store, &ids).await?;
    clients::cors_origins::relist_all(store).await?;
    Ok(())
}
