/*-------------------------------------------------------------------------
 *
 * mongo_sink.c
 *	  The document store, through libmongoc: connect, apply change messages
 *	  as ordered bulks of idempotent upserts, set refused documents aside,
 *	  create indexes, read documents back.
 *
 *	  Only commands MongoDB itself supports are used, so the same code runs
 *	  against MongoDB, a sharded cluster or FerretDB.  One single-threaded
 *	  mongoc_client_t per sink (a pool would start threads in a backend).
 *	  Functions report failure through a bson_error_t and release every
 *	  libmongoc object on every path, so a caller may turn a failure into an
 *	  ERROR without leaking; the only ereports are out-of-memory from palloc
 *	  and mongo_sink_connect_for_backend's own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "common/hashfn.h"
#include "utils/guc.h"
#include "utils/hsearch.h"

#include "bson_rules.h"
#include "change_message.h"
#include "documents.h"
#include "mongo_sink.h"
#include "sha256.h"

char	   *authlog_mirror_uri = NULL;
char	   *authlog_store_credentials_file = NULL;
char	   *authlog_store_database = NULL;

void
mongo_sink_init(void)
{
	/*
	 * Where the mirror writes.  Superuser-only to read, since a connection
	 * string may hold credentials; empty disables the mirror.
	 */
	DefineCustomStringVariable("authlog.mirror_uri",
							   "MongoDB connection string of the document store the mirror writes to.",
							   "Empty disables the mirror. Short connect, selection and socket timeouts are added unless the string sets them.",
							   &authlog_mirror_uri,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/*
	 * The store's password, out of the settings (PostgreSQL logs each
	 * changed setting with its value): a file only the server can read.
	 */
	DefineCustomStringVariable("authlog.store_credentials_file",
							   "File holding the document store's password, for the user named in authlog.mirror_uri.",
							   "Its first line is the password; it must be a regular file accessible by its owner only. A URI with a password in it is refused.",
							   &authlog_store_credentials_file,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/*
	 * Test-only: a bulk of more updates and deletes than this fails as a
	 * socket timeout does on a store too slow for it (0: never).
	 */
	DefineCustomIntVariable("authlog.mirror_test_bulk_timeout_over",
							"Test only: make the mirror's bulks of more writes than this fail as timed out.",
							NULL,
							&authlog_mirror_test_bulk_timeout_over,
							0, 0, SINK_MAX_WRITES_PER_BULK,
							PGC_SIGHUP, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	DefineCustomStringVariable("authlog.store_database",
							   "Database of the document store the mirror writes to and the verifiers read.",
							   "It holds the collections auth_logs, account_lockouts, seals, access_log, records_log and dead_letters.",
							   &authlog_store_database,
							   "authlog",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
}

struct MongoSink
{
	mongoc_client_t *client;
	char	   *database;
};

static bool mongoc_initialized = false;

/* Route libmongoc's own log lines to the server log, at DEBUG levels. */
static void
mongo_log_handler(mongoc_log_level_t level, const char *domain,
				  const char *message, void *user_data)
{
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		elog(DEBUG1, "authlog: libmongoc %s: %s", domain, message);
}

static void
ensure_mongoc_initialized(void)
{
	if (!mongoc_initialized)
	{
		mongoc_init();
		mongoc_log_set_handler(mongo_log_handler, NULL);
		mongoc_initialized = true;
	}
}

/* Set a URI option unless the DBA's URI sets it already. */
static void
default_uri_timeout(mongoc_uri_t *uri, const char *option, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, option))
		mongoc_uri_set_option_as_int32(uri, option, ms);
}

/*
 * The store's password, from the file authlog.store_credentials_file names:
 * a regular file no one but its owner may read (as PostgreSQL requires of
 * its TLS key), its first line.  Returns a malloc'd string, or NULL with
 * the error set; the error never holds the password.
 */
static char *
read_store_password(const char *path, bson_error_t *error)
{
	struct stat st;
	char		buf[4096];
	ssize_t		n;
	int			fd;
	char	   *end;
	char	   *password;

	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
	{
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "could not open authlog.store_credentials_file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "authlog.store_credentials_file \"%s\" is not a regular file", path);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "authlog.store_credentials_file \"%s\" is accessible by its group or others; allow its owner only (chmod 600)", path);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
	{
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "could not read authlog.store_credentials_file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	end = strpbrk(buf, "\r\n");
	if (end)
		*end = '\0';
	if (buf[0] == '\0')
	{
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "authlog.store_credentials_file \"%s\" holds no password on its first line", path);
		return NULL;
	}
	password = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (password == NULL)
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0, "out of memory");
	return password;
}

MongoSink *
mongo_sink_connect(const char *uri_string, const char *database, bson_error_t *error)
{
	mongoc_uri_t *uri;
	mongoc_client_t *client;
	MongoSink  *sink;

	ensure_mongoc_initialized();
	uri = mongoc_uri_new_with_error(uri_string, error);
	if (uri == NULL)
		return NULL;

	/*
	 * Secrets stay out of settings: PostgreSQL logs every changed setting
	 * with its value, so a password in authlog.mirror_uri would reach the
	 * server log on each reload.  It comes from a file instead.
	 */
	if (mongoc_uri_get_password(uri) != NULL)
	{
		mongoc_uri_destroy(uri);
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
					   "authlog.mirror_uri carries a password, which PostgreSQL would write to its log with every change of the setting; "
					   "put the password in a file only the server can read, name it in authlog.store_credentials_file, and leave the user alone in the URI");
		return NULL;
	}
	if (authlog_store_credentials_file != NULL && authlog_store_credentials_file[0] != '\0')
	{
		char	   *password;

		if (mongoc_uri_get_username(uri) == NULL)
		{
			mongoc_uri_destroy(uri);
			bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
						   "authlog.store_credentials_file is set, but authlog.mirror_uri names no user (mongodb://user@host/)");
			return NULL;
		}
		password = read_store_password(authlog_store_credentials_file, error);
		if (password == NULL)
		{
			mongoc_uri_destroy(uri);
			return NULL;
		}
		if (!mongoc_uri_set_password(uri, password))
		{
			explicit_bzero(password, strlen(password));
			free(password);
			mongoc_uri_destroy(uri);
			bson_set_error(error, MONGOC_ERROR_CLIENT, 0,
						   "the password in authlog.store_credentials_file is not valid UTF-8");
			return NULL;
		}
		explicit_bzero(password, strlen(password));
		free(password);
	}

	/*
	 * Short timeouts: a dead store must never hold a backend or the worker
	 * past SIGTERM for long.
	 */
	default_uri_timeout(uri, MONGOC_URI_CONNECTTIMEOUTMS, 1000);
	default_uri_timeout(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 1000);
	default_uri_timeout(uri, MONGOC_URI_SOCKETTIMEOUTMS, 10000);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTRYONCE))
		mongoc_uri_set_option_as_bool(uri, MONGOC_URI_SERVERSELECTIONTRYONCE, true);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME))
		mongoc_uri_set_appname(uri, "authlog");

	client = mongoc_client_new_from_uri_with_error(uri, error);
	mongoc_uri_destroy(uri);
	if (client == NULL)
		return NULL;
	mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);

	sink = malloc(sizeof(MongoSink));
	if (sink == NULL)
	{
		mongoc_client_destroy(client);
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0, "out of memory");
		return NULL;
	}
	sink->client = client;
	sink->database = strdup(database);
	if (sink->database == NULL)
	{
		mongo_sink_close(sink);
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0, "out of memory");
		return NULL;
	}
	return sink;
}

void
mongo_sink_close(MongoSink *sink)
{
	if (sink == NULL)
		return;
	if (sink->client)
		mongoc_client_destroy(sink->client);
	free(sink->database);
	free(sink);
}

static void
close_sink_callback(void *arg)
{
	mongo_sink_close((MongoSink *) arg);
}

/*
 * A sink for a normal backend (mirror_verify, mirror_find): connected to
 * authlog.mirror_uri and closed when the current memory context is reset,
 * so an ERROR anywhere afterwards cannot leak it.
 */
MongoSink *
mongo_sink_connect_for_backend(void)
{
	bson_error_t error;
	MongoSink  *sink;
	MemoryContextCallback *callback;

	if (authlog_mirror_uri == NULL || authlog_mirror_uri[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("authlog.mirror_uri is not set"),
				 errhint("Set authlog.mirror_uri in postgresql.conf to the document store's connection string.")));
	sink = mongo_sink_connect(authlog_mirror_uri, authlog_store_database, &error);
	if (sink == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to the document store"),
				 errdetail("%s", error.message)));
	callback = palloc(sizeof(MemoryContextCallback));
	callback->func = close_sink_callback;
	callback->arg = sink;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, callback);
	return sink;
}

/*
 * Errors that say nothing about the document: the store is unreachable,
 * overloaded or did not confirm the write concern.  The batch is retried.
 */
bool
mongo_sink_error_is_transient(const bson_error_t *error)
{
	switch (error->domain)
	{
		case MONGOC_ERROR_STREAM:
		case MONGOC_ERROR_SERVER_SELECTION:
		case MONGOC_ERROR_WRITE_CONCERN:
		case MONGOC_ERROR_PROTOCOL:
		case MONGOC_ERROR_CLIENT:
			return true;
		default:
			return false;
	}
}

bool
mongo_sink_ping(MongoSink *sink, bson_error_t *error)
{
	bson_t		command = BSON_INITIALIZER;
	bool		ok;

	BSON_APPEND_INT32(&command, "ping", 1);
	ok = mongoc_client_command_simple(sink->client, "admin", &command, NULL, NULL, error);
	bson_destroy(&command);
	return ok;
}

/*
 * The indexes an investigator needs: per tenant by user, by IP, by event,
 * each by time.  One createIndexes command per index: FerretDB 1.24 drops
 * the connection when one command names several indexes that all exist.
 */
bool
mongo_sink_ensure_indexes(MongoSink *sink, bson_error_t *error)
{
	static const char *const index_fields[][2] = {
		{"tenant_user_time", "user_id"},
		{"tenant_ip_time", "ip_address"},
		{"tenant_event_time", "event_type"},
	};
	mongoc_database_t *database = mongoc_client_get_database(sink->client, sink->database);
	bool		ok = true;
	int			i;

	for (i = 0; i < (int) lengthof(index_fields) && ok; i++)
	{
		bson_t		command = BSON_INITIALIZER;
		bson_t		indexes;
		bson_t		index;
		bson_t		key;
		bson_t		reply;

		BSON_APPEND_UTF8(&command, "createIndexes", "auth_logs");
		BSON_APPEND_ARRAY_BEGIN(&command, "indexes", &indexes);
		BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
		BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
		BSON_APPEND_INT32(&key, "tenant_id", 1);
		BSON_APPEND_INT32(&key, index_fields[i][1], 1);
		BSON_APPEND_INT32(&key, "occurred_at", 1);
		bson_append_document_end(&index, &key);
		BSON_APPEND_UTF8(&index, "name", index_fields[i][0]);
		bson_append_document_end(&indexes, &index);
		bson_append_array_end(&command, &indexes);

		ok = mongoc_database_write_command_with_opts(database, &command, NULL, &reply, error);
		bson_destroy(&reply);
		bson_destroy(&command);
	}
	mongoc_database_destroy(database);
	return ok;
}

static bool
write_concern_opts(bson_t *opts, const char *write_concern)
{
	mongoc_write_concern_t *concern = mongoc_write_concern_new();
	char	   *end;
	long		w;
	bool		ok;

	if (strcmp(write_concern, "majority") == 0)
		mongoc_write_concern_set_w(concern, MONGOC_WRITE_CONCERN_W_MAJORITY);
	else
	{
		w = strtol(write_concern, &end, 10);
		if (*end != '\0' || w < 0)
		{
			mongoc_write_concern_destroy(concern);
			return false;
		}
		mongoc_write_concern_set_w(concern, (int32_t) w);
	}
	ok = mongoc_write_concern_append(concern, opts);
	mongoc_write_concern_destroy(concern);
	return ok;
}

/*
 * Changes to evidence (auth_logs, seals) that the store does not take: the
 * store keeps each event and seal as committed, so a row rewritten or
 * deleted in PostgreSQL, even by a superuser who bypasses the triggers,
 * still has its original in the store for the verifiers to find.  The one
 * change an event legitimately gets, its retry count, is applied.
 */
static bool
store_keeps_original(const ChangeMessage *parts)
{
	if (parts->table == CHANGE_TABLE_NONE || !change_table_is_evidence(parts->table))
		return false;
	if (parts->op == CHANGE_UPDATE)
		return parts->table != CHANGE_TABLE_AUTH_LOGS;
	return parts->op == CHANGE_DELETE || parts->op == CHANGE_TRUNCATE;
}

/* $set of an event's retry count, the only column of auth_logs that changes */
static bool
queue_retry_count(mongoc_bulk_operation_t *bulk, const bson_t *selector,
				  const ChangeMessage *parts, bson_error_t *error)
{
	bson_t		update = BSON_INITIALIZER;
	bson_t		set;
	bson_iter_t iter;
	bool		ok;

	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	if (bson_iter_init_find(&iter, &parts->doc, "retry_count"))
		bson_append_iter(&set, NULL, 0, &iter);
	bson_append_document_end(&update, &set);
	ok = mongoc_bulk_operation_update_one_with_opts(bulk, selector, &update, NULL, error);
	bson_destroy(&update);
	return ok;
}

/* Queue one message on its collection's bulk; false with *error if it cannot be. */
static bool
queue_message(mongoc_bulk_operation_t *bulk, const ChangeMessage *parts,
			  bson_error_t *error)
{
	bson_t		selector = BSON_INITIALIZER;
	bson_t		upsert = BSON_INITIALIZER;
	bool		ok;

	BSON_APPEND_BOOL(&upsert, "upsert", true);
	if (parts->op != CHANGE_TRUNCATE &&
		(!parts->has_id ||
		 !bson_rules_append_store_id_as(&selector, "_id", parts->id, parts->id_len, parts->id_utf8)))
	{
		bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
					   "change message without a usable _id");
		bson_destroy(&selector);
		bson_destroy(&upsert);
		return false;
	}

	if ((parts->op == CHANGE_INSERT || parts->op == CHANGE_UPDATE) && parts->has_doc)
	{
		if (parts->doc.len > STORE_MAX_DOCUMENT_SIZE)
		{
			bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
						   "document of %u bytes exceeds the store's limit of %d bytes",
						   parts->doc.len, STORE_MAX_DOCUMENT_SIZE);
			ok = false;
		}
		else if (parts->op == CHANGE_UPDATE && change_table_is_evidence(parts->table))
			ok = queue_retry_count(bulk, &selector, parts, error);
		else if (!parts->has_unchanged)
			ok = mongoc_bulk_operation_replace_one_with_opts(bulk, &selector, &parts->doc,
															 &upsert, error);
		else
		{
			/* unchanged TOASTed columns are absent: $set the rest, keep them */
			bson_t		update = BSON_INITIALIZER;
			bson_t		set;
			bson_iter_t iter;

			BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
			if (bson_iter_init(&iter, &parts->doc))
				while (bson_iter_next(&iter))
					if (strcmp(bson_iter_key(&iter), "_id") != 0)
						bson_append_iter(&set, NULL, 0, &iter);
			bson_append_document_end(&update, &set);
			ok = mongoc_bulk_operation_update_one_with_opts(bulk, &selector, &update,
															&upsert, error);
			bson_destroy(&update);
		}
	}
	else if (parts->op == CHANGE_DELETE)
		ok = mongoc_bulk_operation_remove_one_with_opts(bulk, &selector, NULL, error);
	else if (parts->op == CHANGE_TRUNCATE)
		ok = mongoc_bulk_operation_remove_many_with_opts(bulk, &selector, NULL, error);
	else
	{
		bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
					   "change message of an update without its row");
		ok = false;
	}
	bson_destroy(&selector);
	bson_destroy(&upsert);
	return ok;
}

#define DUPLICATE_KEY_ERROR 11000

/*
 * The first write error of a bulk reply, its index and code; with
 * skip_duplicates, the first that is not a duplicate key.  False when there
 * is none.
 */
static bool
first_write_error(const bson_t *reply, bool skip_duplicates, int *index, int *code)
{
	bson_iter_t iter;
	bson_iter_t child;

	*index = -1;
	*code = 0;
	if (!bson_iter_init_find(&iter, reply, "writeErrors") ||
		!BSON_ITER_HOLDS_ARRAY(&iter) || !bson_iter_recurse(&iter, &child))
		return false;
	while (bson_iter_next(&child))
	{
		bson_iter_t error;
		int			this_index = -1;
		int			this_code = 0;

		if (!BSON_ITER_HOLDS_DOCUMENT(&child))
			continue;
		if (bson_iter_recurse(&child, &error) && bson_iter_find(&error, "index"))
			this_index = (int) bson_iter_as_int64(&error);
		if (bson_iter_recurse(&child, &error) && bson_iter_find(&error, "code"))
			this_code = (int) bson_iter_as_int64(&error);
		if (skip_duplicates && this_code == DUPLICATE_KEY_ERROR)
			continue;
		*index = this_index;
		*code = this_code;
		return true;
	}
	return false;
}

/*
 * Did the store take every insert of the bulk, each either inserted or
 * already there?  Only a reply that accounts for all queued documents says
 * so: nInserted plus its write errors, every one a duplicate key, and no
 * write concern error.  A bulk whose command never came back (a socket
 * error, a timeout, a store going down between the request and its reply)
 * carries an empty writeErrors array too, and says nothing of its
 * documents: it is a failure, never an acknowledgement.
 */
static bool
every_insert_taken(const bson_t *reply, int queued)
{
	bson_iter_t iter;
	bson_iter_t errors;
	int			index;
	int			code;
	int64		inserted;
	int64		duplicates = 0;

	if (bson_iter_init_find(&iter, reply, "writeConcernErrors") &&
		BSON_ITER_HOLDS_ARRAY(&iter) && bson_iter_recurse(&iter, &errors) &&
		bson_iter_next(&errors))
		return false;
	if (!bson_iter_init_find(&iter, reply, "nInserted"))
		return false;
	inserted = bson_iter_as_int64(&iter);
	if (first_write_error(reply, true, &index, &code))
		return false;			/* one that is not a duplicate key */
	if (bson_iter_init_find(&iter, reply, "writeErrors") && bson_iter_recurse(&iter, &errors))
		while (bson_iter_next(&errors))
			duplicates++;
	return duplicates > 0 && inserted + duplicates == queued;
}

/*
 * Operations per bulk.  Inserts go in large bulks; other writes in small
 * ones, because FerretDB 1.24 stalls on an update command with about a
 * hundred updates (MongoDB does not mind either way).
 */
int			authlog_mirror_test_bulk_timeout_over = 0;

/*
 * A socket error or timeout says nothing of the documents: the store may be
 * down, or too slow for the bulk's size (a write on a store that scans for
 * it grows with the collection).  The mirror retries in smaller bulks.
 */
bool
mongo_sink_error_may_be_size(const bson_error_t *error)
{
	return error->domain == MONGOC_ERROR_STREAM;
}

/*
 * (1.1) A record of retired events (records_log, action 'retired'): the
 * store removes the events it names when it takes it, and never on a
 * delete from auth_logs (store_keeps_original).
 */
static bool
is_retirement(const ChangeMessage *parts)
{
	const char *action;

	if (parts->table != CHANGE_TABLE_RECORDS_LOG || parts->op != CHANGE_INSERT)
		return false;
	action = change_message_doc_utf8(parts, "action");
	return action != NULL && strcmp(action, "retired") == 0;
}

/* Whether a message writes into collection c: its table's, and auth_logs for a retirement */
static bool
writes_collection(const ChangeMessage *parts, int c)
{
	return parts->table == (ChangeTable) c ||
		(c == CHANGE_TABLE_AUTH_LOGS && is_retirement(parts));
}

/*
 * Remove from auth_logs the events a retirement record names: the _id of
 * each is made of the record's tenant_id and the member's log_id, as the
 * event's own was.
 */
static bool
queue_retirement(mongoc_bulk_operation_t *bulk, const ChangeMessage *parts,
				 bson_error_t *error)
{
	bson_t		selector = BSON_INITIALIZER;
	bson_t		id;
	bson_t		in;
	bson_iter_t tenant;
	bson_iter_t retired;
	bson_iter_t member;
	bool		ok = true;
	uint32_t	n = 0;

	if (!bson_iter_init_find(&tenant, &parts->doc, "tenant_id") ||
		!bson_iter_init_find(&retired, &parts->doc, "retired") ||
		!BSON_ITER_HOLDS_ARRAY(&retired) || !bson_iter_recurse(&retired, &member))
	{
		bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
					   "a retirement record without its tenant_id or its retired events");
		return false;
	}
	BSON_APPEND_DOCUMENT_BEGIN(&selector, "_id", &id);
	BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
	while (ok && bson_iter_next(&member))
	{
		bson_t		key = BSON_INITIALIZER;
		char		index_buf[16];
		const char *index_key;

		(void) bson_uint32_to_string(n++, &index_key, index_buf, sizeof(index_buf));
		ok = bson_append_iter(&key, "tenant_id", -1, &tenant) &&
			bson_append_iter(&key, "log_id", -1, &member) &&
			bson_rules_append_store_id(&in, index_key, &key);
		bson_destroy(&key);
	}
	bson_append_array_end(&id, &in);
	bson_append_document_end(&selector, &id);
	if (!ok)
		bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
					   "a retirement record names an event whose _id cannot be made");
	else
		ok = mongoc_bulk_operation_remove_many_with_opts(bulk, &selector, NULL, error);
	bson_destroy(&selector);
	return ok;
}

static bool
is_plain_insert(const ChangeMessage *parts)
{
	return parts->op == CHANGE_INSERT && parts->has_doc &&
		parts->doc.len <= STORE_MAX_DOCUMENT_SIZE;
}

/*
 * Execute one bulk of queued operations.  With inserts_only, it is
 * unordered and duplicate keys are not failures: an insert whose document
 * is there already is a replay of the same committed row, and every change
 * after it is replayed too.
 * On failure, *failed_op is the refused operation's index or -1.
 */
static bool
execute_bulk(mongoc_bulk_operation_t *bulk, bool inserts_only, int queued, int *failed_op,
			 bson_error_t *error)
{
	bson_t		reply;
	bool		ok = mongoc_bulk_operation_execute(bulk, &reply, error) != 0;
	int			code;

	*failed_op = -1;
	if (!ok)
	{
		if (inserts_only && every_insert_taken(&reply, queued))
			ok = true;
		else
			(void) first_write_error(&reply, inserts_only, failed_op, &code);
	}
	bson_destroy(&reply);
	return ok;
}

/*
 * Apply change messages to the store, per collection in message order (the
 * collections are independent, so their relative order does not matter).
 * Runs of inserts go as unordered bulks of inserts, the store's fastest
 * write (a document already there is a replay and is left as it is);
 * updates replace the document, or $set the fields an update has when
 * TOASTed columns were left out; deletes delete.
 * Messages with skip[i] set are left out.  Bulks hold at most
 * progress->writes_per_bulk updates and deletes, or
 * progress->inserts_per_bulk inserts; each collection starts at
 * progress->next[c], which moves past every bulk the store acknowledged.
 *
 * Returns true when the store acknowledged every write.  Otherwise
 * *failed_message is the message the store refused (-1 when the failure is
 * not about one message) and *error says why; applying the batch again is
 * harmless, and with the same progress skips what was acknowledged.
 */
bool
mongo_sink_apply(MongoSink *sink, bson_t *const *messages, int nmessages,
				 const bool *skip, const char *write_concern,
				 SinkProgress *progress, int *failed_message, int64 *documents,
				 bson_error_t *error)
{
	int			writes_per_bulk = Max(progress->writes_per_bulk, 1);
	int			inserts_per_bulk = Max(progress->inserts_per_bulk, 1);
	const char *const *collections = change_table_names;
	bson_t		opts = BSON_INITIALIZER;
	bson_t		unordered = BSON_INITIALIZER;
	ChangeMessage *parts = NULL;
	int		   *origin = NULL;
	int			c;
	bool		ok = true;

	*failed_message = -1;
	*documents = 0;
	progress->failed_bulk = 0;
	progress->failed_inserts = false;
	BSON_APPEND_BOOL(&opts, "ordered", true);
	if (!write_concern_opts(&opts, write_concern))
	{
		bson_destroy(&opts);
		bson_set_error(error, MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG,
					   "invalid write concern \"%s\"", write_concern);
		return false;
	}
	parts = malloc(sizeof(ChangeMessage) * Max(nmessages, 1));
	origin = malloc(sizeof(int) * Max(nmessages, 1));
	if (parts == NULL || origin == NULL)
	{
		bson_set_error(error, MONGOC_ERROR_CLIENT, 0, "out of memory");
		ok = false;
	}
	for (c = 0; ok && c < nmessages; c++)
	{
		if ((skip == NULL || !skip[c]) && !change_message_read(messages[c], &parts[c]))
		{
			bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
						   "unreadable change message");
			*failed_message = c;
			ok = false;
		}
	}

	BSON_APPEND_BOOL(&unordered, "ordered", false);
	if (!write_concern_opts(&unordered, write_concern))
		ok = false;

	for (c = 0; ok && c < CHANGE_TABLES; c++)
	{
		mongoc_collection_t *collection =
			mongoc_client_get_collection(sink->client, sink->database, collections[c]);
		int			next = progress->next[c];

		while (ok && next < nmessages)
		{
			mongoc_bulk_operation_t *bulk = NULL;
			int			queued = 0;
			bool		inserts = false;
			int			failed_op;
			int			i;

			for (i = next; i < nmessages; i++)
			{
				bool		retirement;

				if ((skip != NULL && skip[i]) || store_keeps_original(&parts[i]))
					continue;
				if (!writes_collection(&parts[i], c))
					continue;
				retirement = parts[i].table != (ChangeTable) c;
				if (queued == 0)
				{
					inserts = !retirement && is_plain_insert(&parts[i]);
					bulk = mongoc_collection_create_bulk_operation_with_opts(collection,
																			 inserts ? &unordered : &opts);
				}
				else if ((!retirement && is_plain_insert(&parts[i])) != inserts ||
						 queued >= (inserts ? inserts_per_bulk : writes_per_bulk))
					break;
				if (inserts)
					ok = mongoc_bulk_operation_insert_with_opts(bulk, &parts[i].doc, NULL, error);
				else if (retirement)
					ok = queue_retirement(bulk, &parts[i], error);
				else
					ok = queue_message(bulk, &parts[i], error);
				if (!ok)
				{
					*failed_message = i;
					break;
				}
				origin[queued++] = i;
			}
			next = i;

			if (ok && queued > 0 && !inserts && authlog_mirror_test_bulk_timeout_over > 0 &&
				queued > authlog_mirror_test_bulk_timeout_over)
			{
				bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
							   "test: a bulk of %d writes timed out (authlog.mirror_test_bulk_timeout_over = %d)",
							   queued, authlog_mirror_test_bulk_timeout_over);
				ok = false;
			}
			else if (ok && queued > 0)
			{
				if (execute_bulk(bulk, inserts, queued, &failed_op, error))
					*documents += queued;
				else
				{
					ok = false;
					if (failed_op >= 0 && failed_op < queued)
						*failed_message = origin[failed_op];
				}
			}
			if (ok)
				progress->next[c] = next;	/* acknowledged up to here */
			else if (queued > 0)
			{
				progress->failed_bulk = queued;
				progress->failed_inserts = inserts;
			}
			if (bulk)
				mongoc_bulk_operation_destroy(bulk);
		}
		mongoc_collection_destroy(collection);
	}
	free(parts);
	free(origin);
	bson_destroy(&opts);
	bson_destroy(&unordered);
	return ok;
}

/*
 * Empty the collections of current state before a resync copies the tables
 * again: PostgreSQL is the system of record, and copying into empty
 * collections needs only inserts (replacing by a compound _id is a full
 * scan on some stores).  Evidence (events, seals) and dead letters are
 * kept: the copy adds what is missing and leaves what is there as it was
 * committed.
 */
bool
mongo_sink_empty_state_collections(MongoSink *sink, bson_error_t *error)
{
	const char *const *collections = change_table_names;
	int			c;

	for (c = 0; c < CHANGE_TABLES; c++)
	{
		mongoc_collection_t *collection;
		bool		ok;

		if (change_table_is_evidence((ChangeTable) c))
			continue;
		collection = mongoc_client_get_collection(sink->client, sink->database, collections[c]);
		ok = mongoc_collection_drop_with_opts(collection, NULL, error);
		mongoc_collection_destroy(collection);
		/* a collection that does not exist yet is fine (NamespaceNotFound) */
		if (!ok && error->code != 26 && strstr(error->message, "ns not found") == NULL)
			return false;
	}
	return true;
}

/*
 * Set a refused message aside in the dead_letters collection, keyed by its
 * table, key and commit position, with the reason and the encoded original
 * (or, when the original is too large to be stored, its size and SHA-256:
 * the row itself stays in PostgreSQL).  An insert of evidence happens once,
 * so its letter is keyed without the position: the same event refused by a
 * resync's copy and again from the slot (a commit between the slot's start
 * and the copy's snapshot comes both ways) is one letter.  *is_new says
 * whether the letter was not there yet.
 */
bool
mongo_sink_dead_letter(MongoSink *sink, const bson_t *message, const char *reason,
					   bool *is_new, bson_error_t *error)
{
	ChangeMessage parts;
	const char *table;
	bson_t		letter = BSON_INITIALIZER;
	bson_t		upsert = BSON_INITIALIZER;
	int64		commit_lsn;
	mongoc_collection_t *collection;
	bool		ok;

	/* an unreadable message is set aside too, under an empty key */
	if (!change_message_read(message, &parts))
	{
		memset(&parts, 0, sizeof(parts));
		parts.table = CHANGE_TABLE_NONE;
	}
	table = parts.table == CHANGE_TABLE_NONE ? "" : change_table_names[parts.table];
	commit_lsn = (int64) parts.commit_lsn;
	*is_new = true;

	/* one scalar _id, as for every document: table, commit and the row's _id */
	{
		bson_string_t *id = bson_string_new(table);

		bson_string_append_printf(id, ",%lld",
								  parts.op == CHANGE_INSERT && parts.table != CHANGE_TABLE_NONE &&
								  change_table_is_evidence(parts.table) ? 0LL : (long long) commit_lsn);
		if (parts.has_id)
		{
			uint32		i;

			bson_string_append_c(id, ',');
			for (i = 0; i < parts.id_len; i++)
				bson_string_append_c(id, parts.id[i]);
		}
		ok = bson_rules_append_store_id_text(&letter, "_id", id->str, id->len);
		bson_string_free(id, true);
		if (!ok)
		{
			bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
						   "dead letter's _id too long");
			bson_destroy(&letter);
			return false;
		}
	}
	BSON_APPEND_UTF8(&letter, "table", table);
	{
		const char *tenant = change_message_doc_utf8(&parts, "tenant_id");

		/* the tenant, so that mirror_verify can report it per tenant */
		if (tenant != NULL)
			BSON_APPEND_UTF8(&letter, "tenant_id", tenant);
	}
	if (parts.has_id)
		bson_rules_append_store_id_as(&letter, "key", parts.id, parts.id_len, parts.id_utf8);
	BSON_APPEND_INT64(&letter, "commit_lsn", commit_lsn);
	BSON_APPEND_UTF8(&letter, "reason", reason);
	BSON_APPEND_DATE_TIME(&letter, "refused_at", (int64) (time(NULL)) * 1000);
	BSON_APPEND_INT32(&letter, "size", (int32) message->len);
	if (message->len < STORE_MAX_DOCUMENT_SIZE - 64 * 1024)
		BSON_APPEND_BINARY(&letter, "message", BSON_SUBTYPE_BINARY,
						   bson_get_data(message), message->len);
	else
	{
		uint8		digest[AUTHLOG_SHA256_LEN];

		/* no resource owner needed: messages are set aside between transactions */
		authlog_sha256(bson_get_data(message), message->len, digest);
		BSON_APPEND_BINARY(&letter, "message_sha256", BSON_SUBTYPE_BINARY,
						   digest, sizeof(digest));
	}

	BSON_APPEND_BOOL(&upsert, "upsert", true);
	collection = mongoc_client_get_collection(sink->client, sink->database, "dead_letters");
	{
		bson_t		selector_only = BSON_INITIALIZER;
		bson_iter_t id_iter;
		bson_t		reply;
		bson_iter_t matched;

		if (bson_iter_init_find(&id_iter, &letter, "_id"))
			bson_append_iter(&selector_only, "_id", -1, &id_iter);

		ok = mongoc_collection_replace_one(collection, &selector_only, &letter, &upsert,
										   &reply, error);
		if (ok && bson_iter_init_find(&matched, &reply, "matchedCount") &&
			BSON_ITER_HOLDS_NUMBER(&matched))
			*is_new = bson_iter_as_int64(&matched) == 0;
		bson_destroy(&reply);
		bson_destroy(&selector_only);
	}
	mongoc_collection_destroy(collection);
	bson_destroy(&letter);
	bson_destroy(&upsert);
	return ok;
}

/*
 * Every document of a collection matching filter, copied into palloc'd
 * BSON (the caller's memory context), so that no libmongoc cursor is open
 * while the caller works on them.  Returns the count, or -1 with *error.
 */
int
mongo_sink_find(MongoSink *sink, const char *collection_name, const bson_t *filter,
				bson_t ***documents, bson_error_t *error)
{
	mongoc_collection_t *collection;
	mongoc_cursor_t *cursor;
	const bson_t *document;
	int			count = 0;
	int			allocated = 64;
	bson_t	  **found = palloc(sizeof(bson_t *) * allocated);
	bool		failed;

	collection = mongoc_client_get_collection(sink->client, sink->database, collection_name);
	cursor = mongoc_collection_find_with_opts(collection, filter, NULL, NULL);
	while (mongoc_cursor_next(cursor, &document))
	{
		uint8_t    *copy;

		if (count == allocated)
		{
			allocated *= 2;
			found = repalloc(found, sizeof(bson_t *) * allocated);
		}
		/* a static bson_t points into itself: it must never move, so one palloc each */
		found[count] = palloc(sizeof(bson_t));
		copy = palloc(document->len);
		memcpy(copy, bson_get_data(document), document->len);
		if (!bson_init_static(found[count], copy, document->len))
			continue;
		count++;
	}
	failed = mongoc_cursor_error(cursor, error);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(collection);
	*documents = found;
	return failed ? -1 : count;
}


/* ---------- the store's documents by key ---------- */

static uint32
bson_key_hash(const void *key, Size keysize)
{
	const BsonKey *k = key;

	return hash_bytes(k->data, k->len);
}

static int
bson_key_match(const void *a, const void *b, Size keysize)
{
	const BsonKey *x = a;
	const BsonKey *y = b;

	if (x->len != y->len)
		return 1;
	return memcmp(x->data, y->data, x->len);
}

/* A hash table of StoreEntry keyed by BSON bytes, in the current context. */
HTAB *
store_key_table_create(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(BsonKey);
	ctl.entrysize = sizeof(StoreEntry);
	ctl.hash = bson_key_hash;
	ctl.match = bson_key_match;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/*
 * The bytes of an _id: a string's (without its NUL), a BinData's, or a
 * document's (1.0's _id, before the store was migrated); false for
 * anything else.
 */
static bool
store_id_of_iter(const bson_iter_t *iter, BsonKey *key)
{
	const uint8_t *data;
	uint32_t	len;
	bson_subtype_t subtype;

	if (BSON_ITER_HOLDS_UTF8(iter))
		data = (const uint8_t *) bson_iter_utf8(iter, &len);
	else if (BSON_ITER_HOLDS_BINARY(iter))
		bson_iter_binary(iter, &subtype, &len, &data);
	else if (BSON_ITER_HOLDS_DOCUMENT(iter))
		bson_iter_document(iter, &len, &data);
	else
		return false;
	key->data = data;
	key->len = len;
	return true;
}

/* The bytes of the _id (or any id) in doc's field, or false */
bool
store_id_key(const bson_t *doc, const char *field, BsonKey *key)
{
	bson_iter_t iter;

	return bson_iter_init_find(&iter, doc, field) && store_id_of_iter(&iter, key);
}

/*
 * The store's dead letters of one table (of one tenant, or all), keyed by
 * the _id of the document each holds; each entry's reason is the store's
 * own ("refused by the store" when it gave none).  NULL, with *error, when
 * the store cannot be read.
 */
HTAB *
mongo_sink_dead_letters(MongoSink *sink, const char *table, text *tenant, bson_error_t *error)
{
	bson_t		filter = BSON_INITIALIZER;
	bson_t	  **letters;
	HTAB	   *refused;
	int			nletters;
	int			i;

	BSON_APPEND_UTF8(&filter, "table", table);
	if (tenant)
		bson_append_utf8(&filter, "tenant_id", -1, VARDATA_ANY(tenant), VARSIZE_ANY_EXHDR(tenant));
	nletters = mongo_sink_find(sink, "dead_letters", &filter, &letters, error);
	bson_destroy(&filter);
	if (nletters < 0)
		return NULL;

	refused = store_key_table_create("authlog dead letters");
	for (i = 0; i < nletters; i++)
	{
		BsonKey		key;
		bool		found;
		bson_iter_t iter;
		StoreEntry *entry;

		if (!store_id_key(letters[i], "key", &key))
			continue;
		entry = hash_search(refused, &key, HASH_ENTER, &found);
		entry->document = letters[i];
		entry->reason = "refused by the store";
		if (bson_iter_init_find(&iter, letters[i], "reason") && BSON_ITER_HOLDS_UTF8(&iter))
			entry->reason = pstrdup(bson_iter_utf8(&iter, NULL));
	}
	return refused;
}


/* ---------- the store's ids, from 1.0's to scalars ---------- */

/*
 * 1.0's library keyed each document by a document _id ({tenant_id,
 * log_id}, ...), which FerretDB does not index: every update by it was a
 * scan.  Since 1.1's, the _id is a scalar made of the same fields
 * (bson_rules_store_id_text).  A store written by 1.0 is migrated once,
 * before the mirror streams: each document whose _id is a document is
 * written again under its scalar _id, every other byte as it was (the
 * store's copies stay the witnesses they were: nothing is rebuilt from
 * PostgreSQL), and the old ones are then removed by one delete per
 * collection.  Every step can be repeated, so a crash halfway is finished
 * by the next start.  The store then holds STORE_FORMAT_ID in
 * STORE_FORMAT_COLLECTION, and later starts cost one lookup.
 */
#define STORE_FORMAT_COLLECTION "store_format"
#define STORE_FORMAT_ID "store_ids"
#define MIGRATE_WRITES_PER_BULK 500

static const char *const migrated_collections[] = {
	"auth_logs", "account_lockouts", "seals", "access_log", "dead_letters"
};

/* {_id: {$type: "object"}}: documents still under 1.0's _id */
static void
old_id_filter(bson_t *filter)
{
	bson_t		type;

	BSON_APPEND_DOCUMENT_BEGIN(filter, "_id", &type);
	BSON_APPEND_UTF8(&type, "$type", "object");
	bson_append_document_end(filter, &type);
}

/*
 * The document old (under 1.0's _id) under its scalar _id, in new; a dead
 * letter's _id and key are remade as mongo_sink_dead_letter makes them.
 */
static bool
rekey_document(const char *collection, const bson_t *old, bson_t *new)
{
	bson_iter_t iter;
	bson_iter_t id_iter;
	bson_t		id;
	const uint8_t *data;
	uint32_t	len;
	bool		letter = strcmp(collection, "dead_letters") == 0;

	if (!bson_iter_init_find(&id_iter, old, "_id") || !BSON_ITER_HOLDS_DOCUMENT(&id_iter))
		return false;
	bson_iter_document(&id_iter, &len, &data);
	if (!bson_init_static(&id, data, len))
		return false;
	if (!letter)
	{
		if (!bson_rules_append_store_id(new, "_id", &id))
			return false;
	}
	else
	{
		/* {table, [key], commit_lsn} became "table,commit_lsn[,key's _id]" */
		bson_string_t *text = bson_string_new(NULL);
		bson_iter_t field;
		bool		ok = true;

		if (bson_iter_init_find(&field, &id, "table") && BSON_ITER_HOLDS_UTF8(&field))
			bson_string_append(text, bson_iter_utf8(&field, NULL));
		if (bson_iter_init_find(&field, &id, "commit_lsn"))
			bson_string_append_printf(text, ",%lld", (long long) bson_iter_as_int64(&field));
		if (bson_iter_init_find(&field, &id, "key") && BSON_ITER_HOLDS_DOCUMENT(&field))
		{
			bson_t		key;
			const uint8_t *key_data;
			uint32_t	key_len;

			bson_iter_document(&field, &key_len, &key_data);
			bson_string_append_c(text, ',');
			ok = bson_init_static(&key, key_data, key_len) &&
				bson_rules_store_id_text(&key, text);
		}
		ok = ok && bson_rules_append_store_id_text(new, "_id", text->str, text->len);
		bson_string_free(text, true);
		if (!ok)
			return false;
	}
	if (!bson_iter_init(&iter, old))
		return false;
	while (bson_iter_next(&iter))
	{
		const char *key = bson_iter_key(&iter);

		if (strcmp(key, "_id") == 0)
			continue;
		if (letter && strcmp(key, "key") == 0 && BSON_ITER_HOLDS_DOCUMENT(&iter))
		{
			bson_t		row_key;

			bson_iter_document(&iter, &len, &data);
			if (!bson_init_static(&row_key, data, len) ||
				!bson_rules_append_store_id(new, "key", &row_key))
				return false;
			continue;
		}
		if (!bson_append_iter(new, key, -1, &iter))
			return false;
	}
	return true;
}

static bool
execute_migration_bulk(mongoc_bulk_operation_t *bulk, bson_error_t *error)
{
	bson_t		reply;
	bool		ok = mongoc_bulk_operation_execute(bulk, &reply, error) != 0;

	bson_destroy(&reply);
	return ok;
}

/* One collection's documents under 1.0's _id, rewritten; false with *error */
static bool
migrate_collection(MongoSink *sink, const char *name, int64 *migrated, bson_error_t *error)
{
	mongoc_collection_t *collection = mongoc_client_get_collection(sink->client, sink->database, name);
	bson_t		filter = BSON_INITIALIZER;
	bson_t		upsert = BSON_INITIALIZER;
	mongoc_cursor_t *cursor;
	mongoc_bulk_operation_t *bulk = NULL;
	const bson_t *document;
	int			queued = 0;
	bool		ok = true;

	old_id_filter(&filter);
	BSON_APPEND_BOOL(&upsert, "upsert", true);
	cursor = mongoc_collection_find_with_opts(collection, &filter, NULL, NULL);
	while (ok && mongoc_cursor_next(cursor, &document))
	{
		bson_t		new = BSON_INITIALIZER;
		bson_t		selector = BSON_INITIALIZER;
		bson_iter_t id;

		if (!rekey_document(name, document, &new))
		{
			/* nothing 1.1 can key: left where it is, and said */
			char	   *json = bson_as_relaxed_extended_json(document, NULL);

			ereport(WARNING,
					(errmsg("authlog: a document of the store's %s collection has an _id no key makes; left as it is",
							name),
					 errdetail("%.200s", json ? json : "(unreadable)")));
			bson_free(json);
			bson_destroy(&new);
			bson_destroy(&selector);
			continue;
		}
		if (bulk == NULL)
			bulk = mongoc_collection_create_bulk_operation_with_opts(collection, NULL);
		ok = bson_iter_init_find(&id, &new, "_id") &&
			bson_append_iter(&selector, "_id", 3, &id) &&
			mongoc_bulk_operation_replace_one_with_opts(bulk, &selector, &new, &upsert, error);
		bson_destroy(&new);
		bson_destroy(&selector);
		if (ok && ++queued == MIGRATE_WRITES_PER_BULK)
		{
			ok = execute_migration_bulk(bulk, error);
			mongoc_bulk_operation_destroy(bulk);
			bulk = NULL;
			*migrated += queued;
			queued = 0;
			if (ok && *migrated % (100 * MIGRATE_WRITES_PER_BULK) == 0)
				ereport(LOG,
						(errmsg("authlog mirror: %lld documents of the store moved to scalar _ids so far",
								(long long) *migrated)));
		}
	}
	if (ok && mongoc_cursor_error(cursor, error))
		ok = false;
	mongoc_cursor_destroy(cursor);
	if (bulk != NULL)
	{
		if (ok && queued > 0)
			ok = execute_migration_bulk(bulk, error);
		mongoc_bulk_operation_destroy(bulk);
		*migrated += queued;
	}
	/* every copy is written: the documents under 1.0's _id go, in one delete */
	if (ok)
		ok = mongoc_collection_delete_many(collection, &filter, NULL, NULL, error);
	bson_destroy(&filter);
	bson_destroy(&upsert);
	mongoc_collection_destroy(collection);
	return ok;
}

/*
 * Make sure the store's documents are under scalar _ids, migrating a store
 * 1.0's library wrote.  *migrated: how many documents were moved.  False
 * with *error when the store could not be read or written.
 */
bool
mongo_sink_migrate_store_ids(MongoSink *sink, int64 *migrated, bson_error_t *error)
{
	mongoc_collection_t *formats;
	bson_t		selector = BSON_INITIALIZER;
	bson_t		marker = BSON_INITIALIZER;
	bson_t		upsert = BSON_INITIALIZER;
	int64		count;
	int			i;
	bool		ok = true;

	*migrated = 0;
	formats = mongoc_client_get_collection(sink->client, sink->database, STORE_FORMAT_COLLECTION);
	BSON_APPEND_UTF8(&selector, "_id", STORE_FORMAT_ID);
	count = mongoc_collection_count_documents(formats, &selector, NULL, NULL, NULL, error);
	if (count < 0)
		ok = false;
	for (i = 0; ok && count == 0 && i < (int) lengthof(migrated_collections); i++)
		ok = migrate_collection(sink, migrated_collections[i], migrated, error);
	if (ok && count == 0)
	{
		BSON_APPEND_UTF8(&marker, "_id", STORE_FORMAT_ID);
		BSON_APPEND_UTF8(&marker, "ids", "scalar");
		BSON_APPEND_INT64(&marker, "documents_migrated", *migrated);
		BSON_APPEND_DATE_TIME(&marker, "at", (int64) time(NULL) * 1000);
		BSON_APPEND_BOOL(&upsert, "upsert", true);
		ok = mongoc_collection_replace_one(formats, &selector, &marker, &upsert, NULL, error);
	}
	bson_destroy(&selector);
	bson_destroy(&marker);
	bson_destroy(&upsert);
	mongoc_collection_destroy(formats);
	return ok;
}
