//! Change notices: every subscriber of a channel, and no other, hears a publish.

use std::time::Duration;

use super::Subject;
use ferrid::store::Notices;

/// The next notice, within a bounded real-time wait (Redis delivers them asynchronously).
async fn wait(notices: &mut Notices) {
    tokio::time::timeout(Duration::from_secs(10), notices.recv())
        .await
        .expect("a notice arrives")
        .expect("the subscription is open");
}

async fn published_notices_reach_every_subscriber(subject: Subject) {
    let store = &subject.store;
    let mut first = store.subscribe("changes");
    let mut second = store.subscribe("changes");
    let mut other = store.subscribe("elsewhere");
    // Every subscription starts with a notice once it is established.
    wait(&mut first).await;
    wait(&mut second).await;
    wait(&mut other).await;
    store.publish("changes").await.unwrap();
    wait(&mut first).await;
    wait(&mut second).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!other.try_recv(), "another channel's notice");
}

suite!(published_notices_reach_every_subscriber,);
