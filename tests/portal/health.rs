//! `/healthz` answers for the database.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::helpers::*;

#[tokio::test]
async fn health_is_200_while_the_database_answers_and_503_once_it_is_gone() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let resp = app.get("/healthz").await;
        assert_eq!(resp.status().as_u16(), 200, "{backend:?}");
        assert_eq!(resp.text().await.unwrap(), "ok");

        match backend {
            Backend::Postgres => {
                let name = app.db.url.rsplit('/').next().unwrap().to_string();
                let admin = app.db.url.replace(&format!("/{name}"), "/postgres");
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
            }
            Backend::Sqlite => {
                // The file is overwritten with something that is not a database.
                std::fs::write(&app.db.url, vec![0x42u8; 8192]).unwrap();
                let _ = std::fs::remove_file(format!("{}-wal", app.db.url));
                let _ = std::fs::remove_file(format!("{}-shm", app.db.url));
            }
        }
        let resp = app.get("/healthz").await;
        assert_eq!(resp.status().as_u16(), 503, "{backend:?}");
        assert_eq!(resp.text().await.unwrap(), "database unavailable");
    }
}

/// On SQLite a change that reads first and writes later is not refused when
/// another connection (the mail worker, say) commits a write in between.
#[test]
fn a_change_that_reads_first_survives_a_write_from_another_connection_on_sqlite() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("locks.db").to_string_lossy().into_owned();
    let pool = portal::db::build_pool(&url, 2).unwrap();
    portal::db::run_migrations(&mut *pool.get().unwrap()).unwrap();
    let mut a = pool.get().unwrap();
    let other = pool.clone();
    let insert =
        |name: &str| format!("INSERT INTO companies (name, kind, created_at) VALUES ('{name}', 'customer', '2026-11-23 00:00:00')");
    let (result, writer) = {
        let mut writer = None;
        let result = portal::db::transaction(&mut a, |conn| -> diesel::QueryResult<()> {
            let _: i64 = portal::db::schema::companies::table.count().get_result(conn)?;
            let sql = insert("Meanwhile");
            writer = Some(std::thread::spawn(move || other.get().unwrap().batch_execute(&sql)));
            std::thread::sleep(std::time::Duration::from_millis(300));
            conn.batch_execute(&insert("Mine"))
        });
        (result, writer.unwrap())
    };
    assert!(result.is_ok(), "{result:?}");
    assert!(writer.join().unwrap().is_ok(), "the other write waited its turn");
    let n: i64 = portal::db::schema::companies::table.count().get_result(&mut *pool.get().unwrap()).unwrap();
    assert_eq!(n, 2);
}
