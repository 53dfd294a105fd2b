"""Rewrite a mirror's store as authlog 1.0's library left it, for the
migration test (test/t/260_store_ids_from_1_0.pl).

1.0 keyed each document by a document _id of its key columns, in table
order ({tenant_id, log_id}, ...), and a dead letter by {table, key,
commit_lsn}; 1.1's library writes one scalar made of the same values
(bson_rules_store_id_text: "<bytes>:<value>" per column, joined by ",").
Every other byte of each document stays as it is (int64 stays Int64).

    python test/store_as_1_0.py URI DATABASE [--crashed]

--crashed leaves the store as a migration that stopped halfway would:
every document under 1.0's _id, and every second one under its scalar _id
as well.  Prints the number of documents rewritten.
"""
import sys
import uuid

from bson.binary import Binary, UUID_SUBTYPE
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from bson.son import SON
from pymongo import MongoClient

KEYS = {
    "auth_logs": ["tenant_id", "log_id"],
    "account_lockouts": ["tenant_id", "user_id"],
    "seals": ["tenant_id", "seal_no"],
    "access_log": ["tenant_id", "access_id"],
}
# how each key column's text becomes its BSON value again
KINDS = {"log_id": "uuid", "access_id": "uuid", "seal_no": "int64"}


def parse_store_id(text):
    """ "4:acme,36:<uuid>" -> ["acme", "<uuid>"] (lengths in UTF-8 bytes)"""
    data = text.encode("utf-8")
    values, i = [], 0
    while i < len(data):
        colon = data.index(b":", i)
        length = int(data[i:colon])
        values.append(data[colon + 1:colon + 1 + length].decode("utf-8"))
        i = colon + 1 + length
        if i < len(data):
            assert data[i:i + 1] == b",", text
            i += 1
    return values


def key_value(column, text):
    kind = KINDS.get(column)
    if kind == "uuid":
        return Binary(uuid.UUID(text).bytes, UUID_SUBTYPE)
    if kind == "int64":
        return Int64(int(text))
    return text


def old_document(doc, old_id):
    new = SON([("_id", old_id)])
    for name, value in doc.items():
        if name != "_id":
            new[name] = value
    return new


def main():
    uri, database = sys.argv[1], sys.argv[2]
    crashed = "--crashed" in sys.argv[3:]
    options = CodecOptions(document_class=SON)
    db = MongoClient(uri, serverSelectionTimeoutMS=10000).get_database(database, codec_options=options)
    rewritten = 0
    for collection, columns in KEYS.items():
        for n, doc in enumerate(list(db[collection].find({"_id": {"$type": "string"}}))):
            old_id = SON([(c, doc[c]) for c in columns])
            db[collection].insert_one(old_document(doc, old_id))
            if not (crashed and n % 2 == 0):
                db[collection].delete_one({"_id": doc["_id"]})
            rewritten += 1
    for letter in list(db["dead_letters"].find({"_id": {"$type": "string"}})):
        table = letter["table"]
        key = SON((c, key_value(c, v)) for c, v in zip(KEYS[table], parse_store_id(letter["key"])))
        old_id = SON([("table", table), ("key", key), ("commit_lsn", letter["commit_lsn"])])
        old = old_document(letter, old_id)
        old["key"] = key
        db["dead_letters"].insert_one(old)
        db["dead_letters"].delete_one({"_id": letter["_id"]})
        rewritten += 1
    db["store_format"].delete_many({})
    print(rewritten)


if __name__ == "__main__":
    main()
