"""pymongo 4.x through mongopool-proxy, against pymongo going straight to the server.

Usage: python pymongo_check.py DIRECT_URI PROXY_URI
Runs CRUD, a 10,000-document cursor read 10 at a time, a bulk write, a committed and
an aborted transaction both ways; exits 1 if any observable result differs.
Started by bench/proxy (`cargo run --release -- --python PATH`), which starts the
server and the proxy.
"""
import sys

from pymongo import DeleteOne, InsertOne, MongoClient, UpdateOne
from pymongo.errors import PyMongoError


def code(e):
    return getattr(e, "code", None) or type(e).__name__


def workload(client, name):
    db = client[name]
    client.drop_database(name)
    out = []
    c = db.crud
    out.append(("insert_one", c.insert_one({"_id": 1, "v": "one"}).inserted_id))
    out.append(("insert_many", len(c.insert_many([{"_id": 2}, {"_id": 3}]).inserted_ids)))
    out.append(("find_one", c.find_one({"_id": 2})))
    r = c.update_one({"_id": 3}, {"$set": {"v": "THREE"}})
    out.append(("update_one", (r.matched_count, r.modified_count)))
    out.append(("delete_one", c.delete_one({"_id": 1}).deleted_count))
    try:
        c.insert_one({"_id": 2})
        out.append(("duplicate", "no error"))
    except PyMongoError as e:
        out.append(("duplicate", code(e)))
    out.append(("find all", list(c.find({}).sort("_id", 1))))

    big = db.big
    big.insert_many([{"_id": i, "x": i % 7} for i in range(10_000)])
    ids = [d["_id"] for d in big.find({}).sort("_id", 1).batch_size(10)]
    out.append(("cursor", (len(ids), sum(ids), ids == sorted(ids))))

    bulk = db.bulk
    r = bulk.bulk_write([
        InsertOne({"_id": 1, "n": 1}),
        InsertOne({"_id": 2, "n": 2}),
        UpdateOne({"_id": 1}, {"$inc": {"n": 10}}),
        DeleteOne({"_id": 2}),
    ])
    out.append(("bulk_write", (r.inserted_count, r.matched_count, r.modified_count, r.deleted_count)))
    out.append(("after bulk", list(bulk.find({}))))

    db.create_collection("txn")
    for commit in (True, False):
        with client.start_session() as s:
            s.start_transaction()
            db.txn.insert_one({"_id": "committed" if commit else "aborted"}, session=s)
            inside = db.txn.count_documents({}, session=s)
            if commit:
                s.commit_transaction()
            else:
                s.abort_transaction()
        out.append((f"transaction commit={commit}", inside))
    out.append(("after transactions", list(db.txn.find({}))))
    return out


def main():
    direct_uri, proxy_uri = sys.argv[1], sys.argv[2]
    want = workload(MongoClient(direct_uri, directConnection=True), "pydirect")
    proxied = MongoClient(proxy_uri, compressors="zstd,snappy,zlib")
    hello = proxied.admin.command("hello")
    assert hello.get("msg") == "isdbgrid", hello
    got = workload(proxied, "pyproxied")
    failed = 0
    for w, g in zip(want, got):
        same = w == g
        failed += not same
        print(("ok   " if same else "DIFF ") + f"{w[0]}: direct {w[1]!r:.120} | proxy {g[1]!r:.120}")
    if len(want) != len(got):
        failed += 1
    print(f"pymongo: {len(want) - failed} of {len(want)} steps the same through the proxy, {failed} differ")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
