//! Where mail goes: `.eml` files in the data folder (development; read by the
//! mail viewer), or an SMTP server when `SMTP_URL` is set.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::models::outbox::OutboxMessage;

#[derive(Clone)]
pub enum MailTransport {
    Files { dir: PathBuf, transport: AsyncFileTransport<Tokio1Executor> },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl MailTransport {
    pub fn files(dir: PathBuf) -> anyhow::Result<MailTransport> {
        std::fs::create_dir_all(&dir)?;
        Ok(MailTransport::Files { transport: AsyncFileTransport::new(&dir), dir })
    }

    /// `smtp://host:port` (plain, for local relays and test sinks), `smtps://…`
    /// (TLS) or `smtp://…?tls=required` (STARTTLS); credentials in the URL.
    pub fn smtp(url: &str) -> anyhow::Result<MailTransport> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(MailTransport::Smtp(transport))
    }

    /// The folder of the file transport; `None` for SMTP (the mail viewer is off then).
    pub fn files_dir(&self) -> Option<&PathBuf> {
        match self {
            MailTransport::Files { dir, .. } => Some(dir),
            MailTransport::Smtp(_) => None,
        }
    }

    pub async fn send(&self, from: &Mailbox, message: &OutboxMessage) -> anyhow::Result<()> {
        let email = Message::builder()
            .from(from.clone())
            .to(message.recipient.parse()?)
            .subject(&message.subject)
            .message_id(Some(format!("<outbox-{}-{}@{}>", message.id, message.created_at.and_utc().timestamp(), from.email.domain())))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body_text.clone())?;
        match self {
            MailTransport::Files { transport, .. } => {
                transport.send(email).await?;
            }
            MailTransport::Smtp(transport) => {
                transport.send(email).await?;
            }
        }
        Ok(())
    }
}
