//! One pool to one server, and commands on its connections.
//!
//! ```sh
//! MONGODB_URI=mongodb://localhost:27017 cargo run -p mongopool --example pool_command
//! ```
use mongopool::bson::rawdoc;
use mongopool::{CommandOptions, ConnectionString, MongoPool};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://localhost:27017".into());
    let pool = MongoPool::from_connection_string(&ConnectionString::parse(&uri)?)?;
    // A bare pool starts paused, as CMAP says: with no monitor here, ready it ourselves.
    // (mongopool::Client does this for every server it monitors.)
    pool.ready();

    let mut conn = pool.checkout().await?; // checked back in when dropped
    let reply = conn
        .command("admin", &rawdoc! { "ping": 1 }, &CommandOptions::default())
        .await?;
    println!("ping: ok = {}", reply.get_f64("ok")?);
    println!(
        "server: maxWireVersion {} on connection {}",
        conn.hello().max_wire_version,
        conn.id()
    );
    drop(conn);

    // ok: 0 is an error with the server's code, unless `check` is off.
    let err = pool
        .checkout()
        .await?
        .command(
            "admin",
            &rawdoc! { "noSuchCommand": 1 },
            &CommandOptions::default(),
        )
        .await
        .expect_err("an unknown command fails");
    println!("unknown command: code {:?}", err.code());
    println!(
        "pool: {} connection(s), {} in use",
        pool.stats().total,
        pool.stats().in_use
    );
    pool.close();
    Ok(())
}
