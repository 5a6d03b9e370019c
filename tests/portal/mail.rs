//! Mail through the outbox to a real SMTP server on 127.0.0.1: exactly once,
//! retried after failure, never twice with two instances on one PostgreSQL.

use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use mailin_embedded::{response, Handler, Response, Server};
use portal::db::schema::outbox;
use portal::mail::transport::MailTransport;
use portal::mail::worker::MailWorker;
use portal::mail::Email;

use crate::helpers::*;

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
    /// How long the server takes to accept each message (a slow server).
    delay: Duration,
}

impl Handler for Sink {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received { to: to.to_vec(), data: String::new() });
        response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(c) = &mut self.current {
            c.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        if let Some(c) = self.current.take() {
            self.received.lock().unwrap().push(c);
        }
        response::OK
    }
}

/// An SMTP server in this process, on a free port of 127.0.0.1.
pub struct SmtpSink {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::slow(Duration::ZERO)
    }

    /// A server that takes `delay` to accept each message.
    pub fn slow(delay: Duration) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handler = Sink { delay, ..Sink::default() };
        let received = handler.received.clone();
        let mut server = Server::new(handler);
        server.with_name("sink.test").with_num_threads(32).with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink { url: format!("smtp://127.0.0.1:{port}"), received }
    }

    pub fn to(&self, recipient: &str) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|m| m.to.iter().any(|t| t == recipient)).cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

#[tokio::test]
async fn the_confirmation_mail_reaches_a_real_smtp_server_exactly_once() {
    let sink = SmtpSink::start();
    for backend in backends() {
        let app = spawn_app_with(backend, AppOptions { smtp_url: Some(sink.url.clone()), ..Default::default() }).await;
        let email = format!("ada.{backend:?}@analytical.example").to_lowercase();
        let resp = app.register("Ada Lovelace", &email, PASSWORD, "Analytical Engines").await;
        assert_eq!(resp.status().as_u16(), 303);
        app.eventually("the confirmation mail arrives", || sink.to(&email).len() == 1).await;
        // Several more worker rounds: still exactly one.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let got = sink.to(&email);
        assert_eq!(got.len(), 1, "{backend:?}");
        let parsed = mail_parser::MessageParser::default().parse(got[0].data.as_bytes()).unwrap();
        assert_eq!(parsed.subject(), Some("Confirm your email"));
        let body = parsed.body_text(0).unwrap();
        assert!(body.contains(&format!("{}/confirm-email/", app.settings.base_url)), "{body}");
        let sent: Option<chrono::NaiveDateTime> =
            outbox::table.filter(outbox::recipient.eq(&email)).select(outbox::sent_at).first(&mut *app.conn()).unwrap();
        assert!(sent.is_some());
        // With SMTP, there is no development mail viewer.
        assert_eq!(app.get("/dev/mail").await.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_sent_is_kept_retried_later_and_sent_once() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let pool = portal::db::build_pool(&db.url, 2).unwrap();
        portal::db::run_migrations(&mut pool.get().unwrap()).unwrap();
        let email = Email {
            to: "maya@metalworks.example".into(),
            subject: "Complete Smart Account Setup".into(),
            body_text: "Follow the link.".into(),
            kind: "test",
            dedupe_key: Some("test:1".into()),
        };
        {
            let mut conn = pool.get().unwrap();
            assert!(portal::mail::enqueue(&mut conn, &email).unwrap());
            assert!(!portal::mail::enqueue(&mut conn, &email).unwrap(), "the same dedupe key is queued once");
        }

        // Nothing listens on this port: the send fails and the message stays queued.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let down = MailWorker {
            pool: pool.clone(),
            transport: MailTransport::smtp(&format!("smtp://127.0.0.1:{closed}")).unwrap(),
            from: "Portal <no-reply@portal.example>".parse().unwrap(),
            interval: Duration::from_millis(100),
            lease: Duration::from_secs(30),
            batch: 5,
            send_timeout: Duration::from_secs(10),
        };
        assert_eq!(down.send_due().await.unwrap(), 1);
        let (attempts, error, next, sent): (i32, Option<String>, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) = outbox::table
            .select((outbox::attempts, outbox::last_error, outbox::next_attempt_at, outbox::sent_at))
            .first(&mut *pool.get().unwrap())
            .unwrap();
        assert_eq!(attempts, 1, "{backend:?}");
        assert!(error.is_some());
        assert!(sent.is_none());
        assert!(next > portal::db::now(), "backs off before the next attempt");
        assert_eq!(down.send_due().await.unwrap(), 0, "not due again yet");

        // Later (the back-off has passed) the server is up: sent exactly once.
        diesel::update(outbox::table).set(outbox::next_attempt_at.eq(portal::db::now())).execute(&mut *pool.get().unwrap()).unwrap();
        let sink = SmtpSink::start();
        let up = MailWorker { transport: MailTransport::smtp(&sink.url).unwrap(), ..down };
        assert_eq!(up.send_due().await.unwrap(), 1);
        assert_eq!(up.send_due().await.unwrap(), 0);
        assert_eq!(sink.to("maya@metalworks.example").len(), 1);
    }
}

#[tokio::test]
async fn two_instances_on_one_postgresql_send_each_message_exactly_once() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let sink = SmtpSink::start();
    let options = || AppOptions { smtp_url: Some(sink.url.clone()), mail_poll_interval: "50ms", ..Default::default() };
    let a = spawn_app_with(Backend::Postgres, options()).await;
    let _b = spawn_app_with(Backend::Postgres, AppOptions { share_with: Some((a.db.clone(), a.data_handle())), ..options() }).await;
    let n = 60;
    {
        let mut conn = a.conn();
        conn.transaction(|conn| {
            for i in 0..n {
                let email = Email {
                    to: format!("user{i}@metalworks.example"),
                    subject: format!("Message {i}"),
                    body_text: "Hello".into(),
                    kind: "test",
                    dedupe_key: None,
                };
                portal::mail::enqueue(conn, &email)?;
            }
            diesel::QueryResult::Ok(())
        })
        .unwrap();
    }
    for _ in 0..100 {
        if sink.count() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let errors: Vec<(i32, Option<String>)> =
        outbox::table.select((outbox::attempts, outbox::last_error)).filter(outbox::sent_at.is_null()).load(&mut *a.conn()).unwrap();
    assert!(sink.count() >= n, "sent {} of {n}; unsent: {errors:?}", sink.count());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.count(), n, "no message sent twice");
    for i in 0..n {
        assert_eq!(sink.to(&format!("user{i}@metalworks.example")).len(), 1, "user{i}");
    }
}

/// Two instances, a slow mail server, a lease shorter than sending a batch
/// took before: a worker renews its claim before each send and skips a
/// message another worker reclaimed, so no message is sent twice; each
/// carries its outbox Message-ID.
#[tokio::test]
async fn two_instances_and_a_slow_mail_server_send_each_message_exactly_once() {
    for backend in backends() {
        let sink = SmtpSink::slow(Duration::from_millis(250));
        let options = || AppOptions {
            smtp_url: Some(sink.url.clone()),
            mail_poll_interval: "50ms",
            env: vec![("MAIL_LEASE", "2s".into()), ("MAIL_SEND_TIMEOUT", "1s".into()), ("MAIL_BATCH", "2".into())],
            ..Default::default()
        };
        let a = spawn_app_with(backend, options()).await;
        let _b = spawn_app_with(backend, AppOptions { share_with: Some((a.db.clone(), a.data_handle())), ..options() }).await;
        // Sent one after another, these take longer than the lease.
        let n = 16;
        {
            let mut conn = a.conn();
            portal::db::transaction(&mut conn, |conn| {
                for i in 0..n {
                    let email = Email {
                        to: format!("slow{i}@metalworks.example"),
                        subject: format!("Message {i}"),
                        body_text: "Hello".into(),
                        kind: "test",
                        dedupe_key: None,
                    };
                    portal::mail::enqueue(conn, &email)?;
                }
                diesel::QueryResult::Ok(())
            })
            .unwrap();
        }
        for _ in 0..150 {
            let unsent: i64 = outbox::table.filter(outbox::sent_at.is_null()).count().get_result(&mut *a.conn()).unwrap();
            if unsent == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for i in 0..n {
            let got = sink.to(&format!("slow{i}@metalworks.example"));
            assert_eq!(got.len(), 1, "{backend:?} slow{i}: sent {} times", got.len());
            let id: i64 = outbox::table
                .filter(outbox::recipient.eq(format!("slow{i}@metalworks.example")))
                .select(outbox::id)
                .first(&mut *a.conn())
                .unwrap();
            assert!(got[0].data.contains(&format!("<outbox-{id}-")), "a stable Message-ID: {}", got[0].data);
        }
        assert_eq!(sink.count(), n, "{backend:?}");
    }
}

/// An idle outbox is polled with one read: on SQLite the worker neither
/// takes nor waits for the write lock while someone else holds it (before,
/// each poll waited for it, and failed after the busy timeout).
#[tokio::test]
async fn an_idle_outbox_is_polled_without_waiting_for_the_write_lock() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app_with(Backend::Sqlite, AppOptions { mail_poll_interval: "1h", ..AppOptions::default() }).await;
    let pending: i64 = outbox::table.filter(outbox::sent_at.is_null()).count().get_result(&mut *app.conn()).unwrap();
    assert_eq!(pending, 0, "nothing is queued in a new portal");
    let mut writer = app.conn();
    writer.batch_execute("BEGIN IMMEDIATE").unwrap();
    let claimed = portal::mail::outbox::claim_due(&mut app.conn(), 10, Duration::from_secs(30));
    writer.batch_execute("ROLLBACK").unwrap();
    assert!(claimed.expect("polled while another connection writes").is_empty());
}
