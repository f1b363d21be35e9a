//! The official MongoDB Rust driver through mongopool-proxy, against the same driver
//! going straight to the server: CRUD, a 10,000-document cursor read 10 at a time, a
//! bulk write, a committed and an aborted transaction. The observable results of both
//! must be identical; the program exits non-zero otherwise.
//!
//! `cargo run --release` (in bench/proxy). The server binary: $MONGOPOOL_SECANTUSD.

use std::time::Instant;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::{DeleteOneModel, FindOptions, InsertManyOptions, UpdateOneModel, WriteModel};
use mongodb::Client;
use mongopool_proxy::{Proxy, ProxyOptions};
use mongopool_testkit::TestServer;

#[tokio::main]
async fn main() {
    let server = TestServer::start().expect("start secantusd-rs");
    let uri = mongopool::ConnectionString::parse(&format!("{}/?maxPoolSize=4", server.uri()))
        .expect("the proxy's URI");
    let proxy = Proxy::start(ProxyOptions::new("127.0.0.1:0".parse().unwrap(), uri))
        .await
        .expect("start the proxy");

    let direct = Client::with_uri_str(format!("{}/?directConnection=true", server.uri()))
        .await
        .expect("a direct client");
    let proxied = Client::with_uri_str(format!(
        "mongodb://{}/?compressors=zstd,snappy",
        proxy.local_addr()
    ))
    .await
    .expect("a proxied client");

    let started = Instant::now();
    let want = workload(&direct, "direct").await;
    let got = workload(&proxied, "proxied").await;
    let mut failed = 0;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        let same = w == g;
        failed += usize::from(!same);
        println!("{} step {i}: direct {w} | proxy {g}", if same { "ok  " } else { "DIFF" });
    }
    if want.len() != got.len() {
        failed += 1;
        println!("DIFF: {} steps direct, {} through the proxy", want.len(), got.len());
    }
    // pymongo too, when asked: `--python PATH_TO_PYTHON` (a virtualenv with pymongo 4).
    let args: Vec<String> = std::env::args().collect();
    if let Some(python) = args.iter().position(|a| a == "--python").and_then(|i| args.get(i + 1)) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/mongopool-proxy/tests/pymongo_check.py");
        let status = std::process::Command::new(python)
            .arg(script)
            .arg(server.uri())
            .arg(format!("mongodb://{}/", proxy.local_addr()))
            .status()
            .expect("run python");
        if !status.success() {
            failed += 1;
            println!("DIFF: the pymongo check failed ({status})");
        }
    }
    if let Err(why) = step_down_survived(&server).await {
        failed += 1;
        println!("DIFF: a retryable write across a step-down: {why}");
    }
    let stats = proxy.stats();
    println!("proxy: {stats:?}");
    println!("pool: {:?}", proxy.pool_stats());
    println!("in {:?}", started.elapsed());
    proxy.shutdown(std::time::Duration::from_secs(5)).await;
    if failed > 0 {
        println!("{failed} steps differ");
        std::process::exit(1);
    }
    println!("proxy-external: every step gave the same result through the proxy as direct");
}

/// The proxy over the simulator's two-member set (in front of `server`): the official
/// driver inserts, the primary steps down and the other member is elected, and the
/// driver's next insert (a retryable write) must succeed on the new primary, retried
/// once by the driver on the proxy's labelled NotWritablePrimary error if the old
/// primary got it first.
async fn step_down_survived(server: &TestServer) -> Result<(), String> {
    use mongopool_testkit::simulator::{MemberSpec, Simulator};
    let sim = Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .start(server.address())
        .await
        .map_err(|e| format!("start the simulator: {e}"))?;
    let uri = mongopool::ConnectionString::parse(&format!("{}&heartbeatFrequencyMS=500", sim.uri()))
        .map_err(|e| e.to_string())?;
    let proxy = Proxy::start(ProxyOptions::new("127.0.0.1:0".parse().unwrap(), uri))
        .await
        .map_err(|e| format!("start the proxy: {e}"))?;
    let client = Client::with_uri_str(format!("mongodb://{}/?retryWrites=true", proxy.local_addr()))
        .await
        .map_err(|e| e.to_string())?;
    let c = client.database("stepdown").collection::<Document>("c");
    c.drop().await.ok();
    c.insert_one(doc! {"_id": 1}).await.map_err(|e| format!("first insert: {e}"))?;
    sim.step_down(0).await.map_err(|e| e.to_string())?;
    sim.elect(1).await.map_err(|e| e.to_string())?;
    let second = c.insert_one(doc! {"_id": 2}).await;
    let refused = sim.stats(0).writes_refused;
    let accepted_on_new = sim.stats(1).writes_accepted;
    let count = c.count_documents(doc! {}).await.map_err(|e| e.to_string())?;
    println!(
        "step-down: second insert {:?}, old primary refused {refused}, new primary accepted \
         {accepted_on_new}, documents {count}",
        second.as_ref().map(|r| &r.inserted_id)
    );
    proxy.shutdown(std::time::Duration::from_secs(1)).await;
    sim.shutdown().await;
    match second {
        // Whether the old primary refused it first (then the driver retried on the
        // labelled error) depends on whether the proxy's monitor saw the election
        // before the write; either way it must land once, on the new primary.
        Ok(_) if accepted_on_new == 1 && count == 2 => Ok(()),
        Ok(_) => Err(format!("the write did not cross the step-down (refused {refused}, accepted {accepted_on_new}, count {count})")),
        Err(e) => Err(format!("the driver's insert failed: {e}")),
    }
}

/// Runs every step in database `db` and returns what a user can observe of each.
async fn workload(client: &Client, db: &str) -> Vec<String> {
    let db = client.database(db);
    db.drop().await.ok();
    let mut out = Vec::new();
    let c = db.collection::<Document>("crud");

    // CRUD.
    let r = c.insert_one(doc! {"_id": 1, "v": "one"}).await;
    out.push(format!("insert_one: {:?}", r.map(|r| r.inserted_id)));
    let r = c
        .insert_many(vec![doc! {"_id": 2, "v": "two"}, doc! {"_id": 3, "v": "three"}])
        .await;
    out.push(format!("insert_many: {:?}", r.map(|r| r.inserted_ids.len())));
    let r = c.find_one(doc! {"_id": 2}).await;
    out.push(format!("find_one: {:?}", r));
    let r = c.update_one(doc! {"_id": 3}, doc! {"$set": {"v": "THREE"}}).await;
    out.push(format!(
        "update_one: {:?}",
        r.map(|r| (r.matched_count, r.modified_count))
    ));
    let r = c.delete_one(doc! {"_id": 1}).await;
    out.push(format!("delete_one: {:?}", r.map(|r| r.deleted_count)));
    let dup = c.insert_one(doc! {"_id": 2}).await;
    out.push(format!("duplicate key: {}", error_code(dup.err())));
    let all: Vec<Document> = c.find(doc! {}).sort(doc! {"_id": 1}).await.unwrap().try_collect().await.unwrap();
    out.push(format!("find all: {all:?}"));

    // A cursor over 10,000 documents, 10 per batch: about a thousand getMores.
    let big = db.collection::<Document>("big");
    let docs: Vec<Document> = (0..10_000).map(|i| doc! {"_id": i, "x": i % 7}).collect();
    let r = big
        .insert_many(docs)
        .with_options(InsertManyOptions::builder().ordered(true).build())
        .await;
    out.push(format!("insert 10,000: {:?}", r.map(|r| r.inserted_ids.len())));
    let options = FindOptions::builder().batch_size(10).sort(doc! {"_id": 1}).build();
    let read: Vec<Document> = big
        .find(doc! {})
        .with_options(options)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let sum: i64 = read.iter().map(|d| i64::from(d.get_i32("_id").unwrap())).sum();
    let ordered = read
        .windows(2)
        .all(|w| w[0].get_i32("_id").unwrap() < w[1].get_i32("_id").unwrap());
    out.push(format!("cursor: {} documents, sum of ids {sum}, in order {ordered}", read.len()));

    // A bulk write: mixed operations in one ordered batch (the driver's bulkWrite
    // command where the server has it; what happens must be the same both ways).
    let bulk = db.collection::<Document>("bulk");
    let models: Vec<WriteModel> = vec![
        bulk.insert_one_model(doc! {"_id": 1, "n": 1}).unwrap().into(),
        bulk.insert_one_model(doc! {"_id": 2, "n": 2}).unwrap().into(),
        UpdateOneModel::builder()
            .namespace(bulk.namespace())
            .filter(doc! {"_id": 1})
            .update(doc! {"$inc": {"n": 10}})
            .build()
            .into(),
        DeleteOneModel::builder()
            .namespace(bulk.namespace())
            .filter(doc! {"_id": 2})
            .build()
            .into(),
    ];
    let r = client.bulk_write(models).await;
    out.push(match r {
        Ok(s) => format!(
            "bulk_write: inserted {} matched {} modified {} deleted {}",
            s.inserted_count, s.matched_count, s.modified_count, s.deleted_count
        ),
        Err(e) => format!("bulk_write error: {}", error_code(Some(e))),
    });
    let bulk_docs: Vec<Document> = bulk.find(doc! {}).await.unwrap().try_collect().await.unwrap();
    out.push(format!("after bulk: {bulk_docs:?}"));

    // Transactions: one committed, one aborted.
    let t = db.collection::<Document>("txn");
    db.create_collection("txn").await.ok();
    for commit in [true, false] {
        let mut session = client.start_session().await.unwrap();
        session.start_transaction().await.unwrap();
        let a = t
            .insert_one(doc! {"_id": if commit { "committed" } else { "aborted" }})
            .session(&mut session)
            .await;
        let seen = t.count_documents(doc! {}).session(&mut session).await;
        let end = if commit {
            session.commit_transaction().await
        } else {
            session.abort_transaction().await
        };
        out.push(format!(
            "transaction commit={commit}: insert {:?}, count inside {:?}, end {:?}",
            a.map(|r| r.inserted_id),
            seen,
            end.map_err(|e| error_code(Some(e)))
        ));
    }
    let left: Vec<Document> = t.find(doc! {}).await.unwrap().try_collect().await.unwrap();
    out.push(format!("after transactions: {left:?}"));
    out
}

fn error_code(e: Option<mongodb::error::Error>) -> String {
    match e {
        None => "no error".into(),
        Some(e) => match *e.kind {
            mongodb::error::ErrorKind::Command(ref c) => format!("code {}", c.code),
            mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(ref w)) => {
                format!("write error code {}", w.code)
            }
            ref other => format!("{:?}", std::mem::discriminant(other)),
        },
    }
}
