//! The blocking API: no async runtime in sight, threads sharing one client.
//!
//! ```sh
//! MONGODB_URI=mongodb://localhost:27017 cargo run -p mongopool --example blocking
//! ```
use mongopool::blocking::Client;
use mongopool::bson::rawdoc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://localhost:27017".into());
    let client = Client::connect(&uri)?;
    let reply = client.run_command("admin", &rawdoc! { "ping": 1 })?;
    println!("ping: ok = {}", reply.get_f64("ok")?);

    let pings: u32 = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .filter(|_| client.run_command("admin", &rawdoc! { "ping": 1 }).is_ok())
                        .count() as u32
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    println!("4 threads: {pings} pings");

    #[derive(serde::Deserialize)]
    struct BuildInfo {
        version: String,
    }
    let build: BuildInfo = client.run_command_as("admin", &rawdoc! { "buildInfo": 1 })?;
    println!("server version {}", build.version);
    // Closing ends every call in flight on every thread; dropping the last handle
    // stops the client's background thread and closes every connection.
    client.close();
    Ok(())
}
