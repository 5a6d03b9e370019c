//! The background sender: claims due outbox messages, sends them, records the
//! outcome. Safe to run on every instance (claims are exclusive).

use std::time::Duration;

use lettre::message::Mailbox;

use crate::db::Pool;
use crate::mail::outbox;
use crate::mail::transport::MailTransport;

const BATCH: i64 = 20;

#[derive(Clone)]
pub struct MailWorker {
    pub pool: Pool,
    pub transport: MailTransport,
    pub from: Mailbox,
    pub interval: Duration,
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
        let pool = self.pool.clone();
        let batch = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            anyhow::Ok(outbox::claim_due(&mut conn, BATCH)?)
        })
        .await??;
        let n = batch.len();
        for message in batch {
            let result = self.transport.send(&self.from, &message).await;
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
                        outbox::mark_failed(&mut conn, &message, &e.to_string())?;
                    }
                }
                anyhow::Ok(())
            })
            .await??;
        }
        Ok(n)
    }
}
