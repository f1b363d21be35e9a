//! What one operation of each workload sends, and how the collection is prepared.

use bson::oid::ObjectId;
use bson::{rawdoc, RawDocumentBuf};
use mongopool::{ClientConnection, CommandOptions};

use crate::cli::Workload;
use crate::BoxError;

/// Out of 100 operations of the mixed workload, how many are finds (the rest insert):
/// a read-mostly service.
const MIXED_FINDS_PER_100: u64 = 80;

/// Documents per `insert` while filling the collection.
const FILL_BATCH: u32 = 1000;

/// A workload with its target.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What each operation does.
    pub workload: Workload,
    /// The database of the finds and inserts.
    pub db: String,
    /// Their collection.
    pub collection: String,
    /// How many documents the finds choose from (`_id` 0..documents).
    pub documents: u32,
    ping: RawDocumentBuf,
    options: CommandOptions,
}

impl Plan {
    /// A plan for `workload` on `db.collection`.
    pub fn new(workload: Workload, db: &str, collection: &str, documents: u32) -> Plan {
        Plan {
            workload,
            db: db.to_owned(),
            collection: collection.to_owned(),
            documents,
            ping: rawdoc! { "ping": 1_i32 },
            options: CommandOptions::default(),
        }
    }

    /// Empties the collection, and fills it for the workloads that find.
    pub async fn prepare(&self, conn: &mut ClientConnection) -> Result<(), BoxError> {
        if self.workload == Workload::Ping {
            return Ok(());
        }
        // `drop` of a missing collection fails (NamespaceNotFound): unchecked, and
        // any other failure shows up at the first insert.
        conn.command(
            &self.db,
            &rawdoc! { "drop": self.collection.as_str() },
            &CommandOptions::unchecked(),
        )
        .await?;
        if !matches!(self.workload, Workload::FindById | Workload::Mixed) {
            return Ok(());
        }
        let mut next = 0;
        while next < self.documents {
            let end = (next + FILL_BATCH).min(self.documents);
            let mut documents = bson::RawArrayBuf::new();
            for id in next..end {
                documents.push(small_document(bson::Bson::Int64(i64::from(id)), id));
            }
            let reply = conn
                .command(
                    &self.db,
                    &rawdoc! { "insert": self.collection.as_str(), "documents": documents },
                    &self.options,
                )
                .await?;
            check_inserted(&reply, i64::from(end - next))?;
            next = end;
        }
        Ok(())
    }

    /// The next operation; `random` is a fresh random number.
    pub fn choose(&self, random: u64) -> Operation {
        let find = match self.workload {
            Workload::Ping => return Operation::Ping,
            Workload::FindById => true,
            Workload::Insert => false,
            Workload::Mixed => random % 100 < MIXED_FINDS_PER_100,
        };
        // A different part of the random number than the mixed choice above.
        let id = (random >> 8) % u64::from(self.documents);
        if find {
            Operation::Find(id)
        } else {
            Operation::Insert(id)
        }
    }

    /// Runs `operation` on `conn` (with the read preference filled in for its server;
    /// errors are reported to the topology).
    pub async fn run(
        &self,
        operation: Operation,
        conn: &mut ClientConnection,
    ) -> Result<(), BoxError> {
        match operation {
            Operation::Ping => {
                conn.run_command("admin", &self.ping).await?;
            }
            Operation::Find(id) => {
                let reply = conn
                    .run_command(
                        &self.db,
                        &rawdoc! {
                            "find": self.collection.as_str(),
                            "filter": { "_id": id as i64 },
                            "limit": 1_i32,
                            "singleBatch": true,
                        },
                    )
                    .await?;
                let found = reply
                    .get_document("cursor")
                    .and_then(|c| c.get_array("firstBatch"))
                    .map(|batch| batch.into_iter().count())
                    .map_err(|e| format!("the find reply has no cursor.firstBatch: {e}"))?;
                if found != 1 {
                    return Err(format!("find of _id {id} returned {found} documents").into());
                }
            }
            Operation::Insert(id) => {
                let reply = conn
                    .run_command(
                        &self.db,
                        &rawdoc! {
                            "insert": self.collection.as_str(),
                            "documents": [small_document(ObjectId::new().into(), id as u32)],
                        },
                    )
                    .await?;
                check_inserted(&reply, 1)?;
            }
        }
        Ok(())
    }
}

/// One operation of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `ping` on `admin`.
    Ping,
    /// A find by `_id`.
    Find(u64),
    /// An insert of a small document (`n` in it).
    Insert(u64),
}

impl Operation {
    /// Whether it goes to a server that takes writes.
    pub fn is_write(self) -> bool {
        matches!(self, Operation::Insert(_))
    }
}

/// The document every insert writes: small, like a session or an event record.
fn small_document(id: bson::Bson, n: u32) -> RawDocumentBuf {
    let mut doc = rawdoc! { "n": i64::from(n), "kind": "bench", "payload": "0123456789abcdef" };
    doc.append(
        bson::raw::cstr!("_id"),
        bson::raw::RawBson::try_from(id).expect("an id converts"),
    );
    doc
}

fn check_inserted(reply: &RawDocumentBuf, expected: i64) -> Result<(), BoxError> {
    let n = match reply.get("n")? {
        Some(v) => v.as_i32().map(i64::from).or_else(|| v.as_i64()),
        None => None,
    };
    if n != Some(expected) {
        return Err(format!("insert wrote {n:?} documents, not {expected}").into());
    }
    Ok(())
}

/// A fast random generator (splitmix64), one per task: the choice of a document must
/// cost nothing next to a round trip, and need not be unpredictable.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Random {
        Random(seed)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
