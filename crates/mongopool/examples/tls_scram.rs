//! TLS and a SCRAM login, both from the URI.
//!
//! ```sh
//! MONGODB_URI='mongodb://user:pass@localhost:27017/?tls=true&tlsCAFile=/path/ca.pem&authMechanism=SCRAM-SHA-256' \
//!     cargo run -p mongopool --example tls_scram
//! ```
use mongopool::bson::rawdoc;
use mongopool::{Client, ConnectionString};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI")?;
    let cs = ConnectionString::parse(&uri)?;
    println!("tls: {}", cs.tls_enabled());
    let client = Client::with_connection_string(cs).await?;
    let mut conn = client.checkout(client.read_preference()).await?;
    let status = conn
        .run_command("admin", &rawdoc! { "connectionStatus": 1 })
        .await?;
    let users = status
        .get_document("authInfo")?
        .get_array("authenticatedUsers")?;
    for user in users {
        let user = user?.as_document().ok_or("a user document")?;
        println!(
            "logged in as {}@{}",
            user.get_str("user")?,
            user.get_str("db")?
        );
    }
    drop(conn);
    client.close().await;
    Ok(())
}
