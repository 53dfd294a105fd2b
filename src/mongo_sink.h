/*-------------------------------------------------------------------------
 *
 * mongo_sink.h
 *	  The store client: libmongoc behind a few calls (mongo_sink.c), the
 *	  settings that say where the store is, and the store's documents
 *	  held by key for the verifiers.  A MongoSink is opaque: no other file
 *	  compiles against libmongoc.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MONGO_SINK_H
#define MONGO_SINK_H

#include <bson/bson.h>

#include "authlog_common.h"
#include "change_message.h"

/* where the store is */
extern char *authlog_mirror_uri;
extern char *authlog_store_credentials_file;
extern char *authlog_store_database;
extern int	authlog_mirror_test_bulk_timeout_over;

/* From _PG_init: the settings */
extern void mongo_sink_init(void);

typedef struct MongoSink MongoSink;

extern MongoSink *mongo_sink_connect(const char *uri, const char *database,
									 bson_error_t *error);
extern MongoSink *mongo_sink_connect_for_backend(void);
extern void mongo_sink_close(MongoSink *sink);
extern bool mongo_sink_error_is_transient(const bson_error_t *error);
extern bool mongo_sink_ping(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_ensure_indexes(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_migrate_store_ids(MongoSink *sink, int64 *migrated, bson_error_t *error);
/*
 * How mongo_sink_apply cuts a batch into bulks, and how far the store has
 * acknowledged it: a batch applied again after a failure goes on from
 * there, in bulks the caller may have made smaller.
 */
#define SINK_MAX_WRITES_PER_BULK 50
#define SINK_INSERTS_PER_WRITE 20	/* an insert bulk holds this many times more */

typedef struct SinkProgress
{
	int			writes_per_bulk;	/* updates and deletes per ordered bulk */
	int			inserts_per_bulk;	/* inserts per unordered bulk */
	int			next[CHANGE_TABLES]; /* per collection: first message not acknowledged */
	int			failed_bulk;	/* the writes of the bulk that failed, if one did */
	bool		failed_inserts; /* ... and whether they were inserts */
} SinkProgress;

extern bool mongo_sink_apply(MongoSink *sink, bson_t *const *messages, int nmessages,
							 const bool *skip, const char *write_concern,
							 SinkProgress *progress, int *failed_message, int64 *documents,
							 bson_error_t *error);
extern bool mongo_sink_error_may_be_size(const bson_error_t *error);
extern bool mongo_sink_empty_state_collections(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_dead_letter(MongoSink *sink, const bson_t *message,
								   const char *reason, bool *is_new, bson_error_t *error);
extern int	mongo_sink_find(MongoSink *sink, const char *collection, const bson_t *filter,
							bson_t ***documents, bson_error_t *error);

/* The store's documents by key, for mirror_verify and verify_store_seals */
typedef struct BsonKey
{
	const uint8 *data;
	uint32		len;
} BsonKey;

typedef struct StoreEntry
{
	BsonKey		key;			/* the document's _id */
	const bson_t *document;
	ChangeTable table;			/* verify_store_seals: its collection */
	const char *reason;			/* for dead letters */
	bool		seen;
	int64		sealed_by;		/* verify_store_seals: the first seal listing it */
} StoreEntry;

extern struct HTAB *store_key_table_create(const char *name);
extern bool store_id_key(const bson_t *doc, const char *field, BsonKey *key);
extern struct HTAB *mongo_sink_dead_letters(MongoSink *sink, const char *table,
											text *tenant, bson_error_t *error);

#endif							/* MONGO_SINK_H */
