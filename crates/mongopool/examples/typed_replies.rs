//! Replies read straight into your own types with serde.
//!
//! ```sh
//! MONGODB_URI=mongodb://localhost:27017 cargo run -p mongopool --example typed_replies
//! ```
use mongopool::bson::rawdoc;
use mongopool::{Client, CommandOptions, ReadPreference};
use serde::Deserialize;

/// Only the fields we want; the rest of the reply is skipped.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hello {
    max_wire_version: i32,
    max_bson_object_size: i64,
    #[serde(default)]
    set_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BuildInfo {
    version: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://localhost:27017".into());
    let client = Client::connect(&uri).await?;
    let mut conn = client.checkout(&ReadPreference::primary()).await?;
    let hello: Hello = conn
        .command_as("admin", &rawdoc! { "hello": 1 }, &CommandOptions::default())
        .await?;
    println!(
        "hello: maxWireVersion {}, maxBsonObjectSize {}, set {:?}",
        hello.max_wire_version, hello.max_bson_object_size, hello.set_name
    );
    let build: BuildInfo = conn
        .command_as(
            "admin",
            &rawdoc! { "buildInfo": 1 },
            &CommandOptions::default(),
        )
        .await?;
    println!("buildInfo: version {}", build.version);

    // A reply that does not fit the type is a clear error, never a panic.
    #[derive(Debug, Deserialize)]
    struct Wrong {
        #[allow(dead_code)]
        no_such_field: String,
    }
    let wrong = conn
        .command_as::<Wrong>("admin", &rawdoc! { "ping": 1 }, &CommandOptions::default())
        .await
        .expect_err("ping has no no_such_field");
    println!("a wrong type: {wrong}");
    drop(conn);
    client.close().await;
    Ok(())
}
