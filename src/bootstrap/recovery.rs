//! A store that lost its data, noticed and provisioned again without a restart. A Redis that
//! restarts without persistence, fails over to an empty replica or is flushed keeps answering,
//! so nothing fails loudly: the clients, users and key ring are simply gone, and every client
//! would get `invalid_client` until ferrid restarts. Every `keys.refresh_interval_secs` each
//! instance reads the provisioning marker (`store::provisioned`). When it is missing, the
//! instance reports not-ready and provisions the store again: clients and users from the config,
//! and the key ring it still holds written back under the ring's lock (so several instances end
//! up with one ring, the one they were signing with). When it names a generation this instance
//! did not provision, another instance did it first, and this one provisions too, which loads
//! what that one wrote. Meanwhile a lookup that finds no client or user answers 503.

use std::time::Duration;

use super::provision_until_done;
use crate::context::Context;
use crate::store::provisioned;

/// Watches the provisioning marker until the task is dropped. Call after `provision`.
pub async fn watch_store(ctx: &Context) {
    let interval = Duration::from_secs(ctx.settings().keys.refresh_interval_secs);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let seen = match provisioned::generation(ctx.store()).await {
            Ok(seen) => seen,
            // An outage, not a loss: `/readyz` reports the store, and the next tick looks again.
            Err(err) => {
                tracing::debug!(error = %err, "cannot read the provisioning marker");
                continue;
            }
        };
        let reason = match seen {
            Some(generation) if generation == *ctx.store_generation() => continue,
            Some(_) => "another instance provisioned the store again; reloading clients, users and signing keys",
            None => "the store lost its data (Redis restarted empty, a failover, FLUSHALL?); provisioning clients, users and signing keys again",
        };
        tracing::warn!(reason, "store provisioning");
        ctx.mark_not_ready(reason.to_owned());
        provision_until_done(ctx).await;
        tracing::info!("store provisioned again; ready");
    }
}
