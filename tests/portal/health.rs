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
