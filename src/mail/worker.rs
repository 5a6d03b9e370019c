//! The background sender: claims a few due outbox messages at a time for a
//! short lease, and sends each only after renewing its claim (a fencing
//! token: a message another instance reclaimed meanwhile is skipped), then
//! records the outcome. Safe to run on every instance. A message keeps one
//! Message-ID across attempts, so a receiver can drop the copy that SMTP's
//! at-least-once gap allows after a crash between sending and recording.

use std::time::Duration;

use lettre::message::Mailbox;

use crate::db::Pool;
use crate::mail::outbox;
use crate::mail::transport::MailTransport;

#[derive(Clone)]
pub struct MailWorker {
    pub pool: Pool,
    pub transport: MailTransport,
    pub from: Mailbox,
    pub interval: Duration,
    /// How long a claim lasts; renewed before each send. A crashed worker's
    /// messages wait this long.
    pub lease: Duration,
    /// Messages claimed at a time.
    pub batch: i64,
    /// The longest one send may take (shorter than the lease).
    pub send_timeout: Duration,
}

impl MailWorker {
    /// Runs forever; each round sends every due message, then waits for the
    /// next tick or for `wake` (a message was just queued).
    pub async fn run(self, wake: std::sync::Arc<tokio::sync::Notify>) {
        loop {
            match self.send_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox round failed"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One round: claims a batch and sends it. Returns how many were claimed.
    pub async fn send_due(&self) -> anyhow::Result<usize> {
        let (pool, batch, lease) = (self.pool.clone(), self.batch, self.lease);
        let batch = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            anyhow::Ok(outbox::claim_due(&mut conn, batch, lease)?)
        })
        .await??;
        let n = batch.len();
        for message in batch {
            let Some(token) = message.claimed_until else { continue };
            let (pool, id) = (self.pool.clone(), message.id);
            let renewed = tokio::task::spawn_blocking(move || {
                let mut conn = pool.get()?;
                anyhow::Ok(outbox::renew(&mut conn, id, token, lease)?)
            })
            .await??;
            let Some(token) = renewed else {
                tracing::info!(outbox_id = message.id, "mail claimed by another worker meanwhile; not sent here");
                continue;
            };
            let result = match tokio::time::timeout(self.send_timeout, self.transport.send(&self.from, &message)).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("the mail server did not answer within {:?}", self.send_timeout)),
            };
            let pool = self.pool.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = pool.get()?;
                match result {
                    Ok(()) => {
                        tracing::info!(outbox_id = message.id, kind = %message.kind, "mail sent");
                        outbox::mark_sent(&mut conn, message.id)?;
                    }
                    Err(e) => {
                        tracing::warn!(outbox_id = message.id, attempts = message.attempts + 1, error = %e, "mail not sent; will retry");
                        outbox::mark_failed(&mut conn, &message, token, &e.to_string())?;
                    }
                }
                anyhow::Ok(())
            })
            .await??;
        }
        Ok(n)
    }
}
