/*-------------------------------------------------------------------------
 *
 * sealer.c
 *	  The sealing background worker: seals every committed auth_logs row,
 *	  per tenant, in commit order, within authlog.seal_interval.
 *
 *	  It reads a logical slot of its own (authlog_seal), fed by the authlog
 *	  output plugin, so the document store being down never holds it back
 *	  and login transactions never wait for it.  Each cut peeks the slot up
 *	  to the WAL flushed when the cut began and, in one transaction, writes
 *	  one seal per tenant: the members' log_ids in commit order, the digest
 *	  of each as it was committed (the decoded insert, not the row as it is
 *	  now), chained to the tenant's previous seal.  seal_members, written in
 *	  the same transaction, makes a replay after a crash between that
 *	  commit and the slot advance seal nothing twice.  A missing or lost
 *	  slot is created again and the rows no seal lists are sealed from a
 *	  table scan, never skipped.
 *
 *	  Each seal's id and digest go to the server log and to NOTIFY
 *	  authlog_seal after its commit, copies the tables' owner cannot
 *	  quietly rewrite.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/standby.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "authlog.h"
#include "bson_rules.h"

PGDLLEXPORT void authlog_sealer_main(Datum main_arg);

SealerShared *authlog_sealer_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Worker-local state */
static char *step_error = NULL;
static int	backoff_ms = 0;
static bool slot_ready = false;
static MemoryContext cut_context = NULL;

/*
 * Could the slot return events some seal lists already?  After a start (a
 * cut may have committed before its slot advance), a failed advance, or a
 * table scan of the backlog (the slot decodes some of the same rows).
 * Until a whole round has sealed and advanced, each member is checked
 * against seal_members; afterwards the slot returns only new events.
 */
static bool members_may_be_sealed = true;

/*
 * Where the sealer itself last left its slot's confirmed position (invalid
 * until it has read it once).  The slot moving past it means someone else
 * consumed it (pg_logical_slot_get_binary_changes by any REPLICATION role):
 * the events decoded there would never be sealed, so the sealer seals the
 * gap from the table, as for a lost slot.  Kept for the worker's lifetime;
 * a consumption while the worker is down is caught by the verifiers, which
 * report every event no seal lists once it is older than the interval.
 */
static XLogRecPtr slot_confirmed_by_sealer = InvalidXLogRecPtr;

typedef struct SlotPosition
{
	XLogRecPtr	confirmed;
	bool		found;
} SlotPosition;

static bool
step_read_confirmed(void *arg)
{
	SlotPosition *position = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(SEALER_SLOT_NAME)};
	bool		isnull;

	if (SPI_execute_with_args("SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots"
							  " WHERE slot_name OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not read pg_replication_slots");
	position->found = SPI_processed > 0;
	position->confirmed = InvalidXLogRecPtr;
	if (position->found)
	{
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			position->confirmed = DatumGetLSN(value);
	}
	return true;
}

#define SEALER_MIN_BACKOFF_MS 100
#define SEALER_PAUSED_WAIT_MS 10000

/* One event to seal */
typedef struct SealMember
{
	const char *tenant_id;
	int			tenant_len;
	pg_uuid_t	log_id;
	uint8		digest[SEAL_DIGEST_LEN];
	XLogRecPtr	commit_lsn;		/* InvalidXLogRecPtr when found by a scan */
	TimestampTz committed_at;
	int			order;			/* position in commit order */
} SealMember;

/* A seal written in the cut's transaction, to announce once it committed */
typedef struct WrittenSeal
{
	char	   *seal_id;
	char	   *digest_hex;
	char	   *tenant_id;
	int64		seal_no;
	int32		event_count;
} WrittenSeal;

typedef struct Cut
{
	XLogRecPtr	target;			/* peek up to here */
	XLogRecPtr	chunk_end;		/* end of the last transaction peeked */
	int			messages;		/* what the peek returned */
	SealMember *members;
	int			count;
	int			allocated;
	List	   *written;		/* WrittenSeal * */
	int64		events;
} Cut;


/* ---------- shared memory ---------- */

static void
sealer_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SealerShared)));
}

static void
sealer_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	authlog_sealer_shared = ShmemInitStruct("authlog sealer", sizeof(SealerShared), &found);
	if (!found)
	{
		memset(authlog_sealer_shared, 0, sizeof(SealerShared));
		SpinLockInit(&authlog_sealer_shared->mutex);
		authlog_sealer_shared->state = SEALER_STARTING;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init while shared_preload_libraries is processed. */
void
sealer_register(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sealer_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sealer_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "authlog");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "authlog_sealer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "authlog sealer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "authlog sealer");
	RegisterBackgroundWorker(&worker);
}

void
sealer_wake(void)
{
	Latch	   *latch;

	if (authlog_sealer_shared == NULL)
		return;
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	latch = authlog_sealer_shared->latch;
	SpinLockRelease(&authlog_sealer_shared->mutex);
	if (latch)
		SetLatch(latch);
}

static void
set_state(SealerState state)
{
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	authlog_sealer_shared->state = state;
	SpinLockRelease(&authlog_sealer_shared->mutex);
}

/*
 * A step failed: back off up to authlog.mirror_max_backoff, logging the
 * error only when it changed.  Returns the wait.
 */
static long
report_failure(const char *what)
{
	char		message[sizeof(authlog_sealer_shared->last_error)];
	bool		changed;

	snprintf(message, sizeof(message), "%s: %s", what, step_error ? step_error : "unknown error");
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	changed = authlog_sealer_shared->state != SEALER_BACKING_OFF ||
		strcmp(authlog_sealer_shared->last_error, message) != 0;
	authlog_sealer_shared->state = SEALER_BACKING_OFF;
	strlcpy(authlog_sealer_shared->last_error, message, sizeof(authlog_sealer_shared->last_error));
	authlog_sealer_shared->last_error_at = GetCurrentTimestamp();
	SpinLockRelease(&authlog_sealer_shared->mutex);
	if (changed)
		ereport(LOG,
				(errmsg("authlog sealer: %s", what),
				 errdetail("%s", step_error ? step_error : "unknown error"),
				 errhint("The sealer retries with backoff; its slot keeps every event until it is sealed.")));
	slot_ready = false;			/* check the slot again: it may be gone */
	backoff_ms = Max(SEALER_MIN_BACKOFF_MS, Min(backoff_ms * 2, authlog_mirror_max_backoff_ms));
	return backoff_ms;
}

static bool
run_step(WorkerStep step, void *arg)
{
	return worker_run_step(step, arg, &step_error);
}


/* ---------- writing seals ---------- */

static Datum
uuid_array_datum(SealMember *members, int count)
{
	Datum	   *elements = palloc(sizeof(Datum) * Max(count, 1));
	int			i;

	for (i = 0; i < count; i++)
		elements[i] = UUIDPGetDatum(&members[i].log_id);
	return PointerGetDatum(construct_array(elements, count, UUIDOID, UUID_LEN, false,
										   TYPALIGN_CHAR));
}

/* Drop the members some seal already lists: a cut replayed after a crash. */
static int
drop_sealed_members(Datum tenant, SealMember *members, int count)
{
	Oid			types[2] = {TEXTOID, UUIDARRAYOID};
	Datum		values[2] = {tenant, uuid_array_datum(members, count)};
	uint64		i;
	int			kept = 0;

	if (SPI_execute_with_args("SELECT u.n::integer FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(log_id, n)"
							  " WHERE NOT EXISTS (SELECT 1 FROM authlog.seal_members m"
							  "                   WHERE m.tenant_id OPERATOR(pg_catalog.=) $1"
							  "                     AND m.log_id OPERATOR(pg_catalog.=) u.log_id)"
							  " ORDER BY u.n",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not read authlog.seal_members");
	if (SPI_processed == (uint64) count)
		return count;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));

		members[kept++] = members[n - 1];
	}
	return kept;
}

/*
 * One seal over members (one tenant's, in commit order), chained to the
 * tenant's last seal, in the current transaction.
 */
static void
write_seal(Cut *cut, SealMember *members, int count)
{
	Datum		tenant = PointerGetDatum(cstring_to_text_with_len(members[0].tenant_id,
																  members[0].tenant_len));
	Oid			last_types[1] = {TEXTOID};
	SealContents seal;
	pg_uuid_t	seal_id;
	uint8	   *member_bytes;
	uint8	   *member_digests;
	uint8		digest[SEAL_DIGEST_LEN];
	bytea	   *previous = NULL;
	int			i;
	Oid			types[13] = {TEXTOID, INT8OID, UUIDOID, TIMESTAMPTZOID, PG_LSNOID, PG_LSNOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, UUIDARRAYOID, BYTEAOID, BYTEAOID, BYTEAOID};
	Datum		values[13];
	char		nulls[13];
	Oid			member_types[3] = {TEXTOID, INT8OID, UUIDARRAYOID};
	Datum		member_values[3];
	Oid			notify_types[1] = {TEXTOID};
	Datum		notify_values[1];
	WrittenSeal *written;
	MemoryContext old;

	if (members_may_be_sealed)
		count = drop_sealed_members(tenant, members, count);
	if (count == 0)
		return;

	memset(&seal, 0, sizeof(seal));
	seal.tenant_id = members[0].tenant_id;
	seal.tenant_len = members[0].tenant_len;
	seal.seal_no = 1;
	/* not read-only: a cut may seal a tenant twice, and must see its own first seal */
	if (SPI_execute_with_args("SELECT seal_no, digest FROM authlog.seals WHERE tenant_id OPERATOR(pg_catalog.=) $1"
							  " ORDER BY seal_no DESC LIMIT 1",
							  1, last_types, &tenant, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not read the tenant's last seal");
	if (SPI_processed > 0)
	{
		bool		isnull;

		seal.seal_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) + 1;
		previous = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		seal.previous_digest = (const uint8 *) VARDATA_ANY(previous);
		seal.previous_digest_len = VARSIZE_ANY_EXHDR(previous);
	}
	event_id_random(&seal_id);
	memcpy(seal.seal_id, seal_id.data, UUID_LEN);
	seal.sealed_at = GetCurrentTransactionStartTimestamp();
	seal.first_commit_lsn = members[0].commit_lsn;
	seal.last_commit_lsn = members[count - 1].commit_lsn;
	seal.first_committed_at = members[0].committed_at;
	seal.last_committed_at = members[count - 1].committed_at;
	seal.event_count = count;
	member_bytes = palloc((Size) count * UUID_LEN);
	member_digests = palloc((Size) count * SEAL_DIGEST_LEN);
	for (i = 0; i < count; i++)
	{
		memcpy(member_bytes + (Size) i * UUID_LEN, members[i].log_id.data, UUID_LEN);
		memcpy(member_digests + (Size) i * SEAL_DIGEST_LEN, members[i].digest, SEAL_DIGEST_LEN);
	}
	seal.members = member_bytes;
	seal.members_len = count * UUID_LEN;
	seal.member_digests = member_digests;
	seal.member_digests_len = count * SEAL_DIGEST_LEN;
	seal_compute_digest(&seal, digest);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = tenant;
	values[1] = Int64GetDatum(seal.seal_no);
	values[2] = UUIDPGetDatum(&seal_id);
	values[3] = TimestampTzGetDatum(seal.sealed_at);
	values[4] = LSNGetDatum(seal.first_commit_lsn);
	values[5] = LSNGetDatum(seal.last_commit_lsn);
	values[6] = TimestampTzGetDatum(seal.first_committed_at);
	values[7] = TimestampTzGetDatum(seal.last_committed_at);
	values[8] = Int32GetDatum(count);
	values[9] = uuid_array_datum(members, count);
	values[10] = seal_bytea_datum(member_digests, (Size) count * SEAL_DIGEST_LEN);
	values[11] = previous ? PointerGetDatum(previous) : (Datum) 0;
	nulls[11] = previous ? ' ' : 'n';
	values[12] = seal_bytea_datum(digest, SEAL_DIGEST_LEN);
	if (SPI_execute_with_args("INSERT INTO authlog.seals (tenant_id, seal_no, seal_id, sealed_at,"
							  " first_commit_lsn, last_commit_lsn, first_committed_at, last_committed_at,"
							  " event_count, members, member_digests, previous_digest, digest)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
							  13, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "authlog sealer: could not insert a seal");

	member_values[0] = tenant;
	member_values[1] = Int64GetDatum(seal.seal_no);
	member_values[2] = values[9];
	if (SPI_execute_with_args("INSERT INTO authlog.seal_members (tenant_id, log_id, seal_no)"
							  " SELECT $1, m, $2 FROM pg_catalog.unnest($3) AS m",
							  3, member_types, member_values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "authlog sealer: could not index a seal's members");

	/* LISTEN checks no privilege: the payload names no tenant */
	old = MemoryContextSwitchTo(cut_context);
	written = palloc(sizeof(WrittenSeal));
	written->seal_id = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&seal_id)));
	written->digest_hex = palloc(SEAL_DIGEST_LEN * 2 + 1);
	hex_encode((const char *) digest, SEAL_DIGEST_LEN, written->digest_hex);
	written->digest_hex[SEAL_DIGEST_LEN * 2] = '\0';
	written->tenant_id = pnstrdup(members[0].tenant_id, members[0].tenant_len);
	written->seal_no = seal.seal_no;
	written->event_count = count;
	cut->written = lappend(cut->written, written);
	cut->events += count;
	MemoryContextSwitchTo(old);

	notify_values[0] = CStringGetTextDatum(psprintf("%s %s", written->seal_id, written->digest_hex));
	if (SPI_execute_with_args("SELECT pg_catalog.pg_notify('authlog_seal', $1)",
							  1, notify_types, notify_values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not send NOTIFY authlog_seal");
}

static int
member_order(const void *a, const void *b)
{
	const SealMember *x = a;
	const SealMember *y = b;
	int			cmp = seal_tenant_cmp(x->tenant_id, x->tenant_len, y->tenant_id, y->tenant_len);

	if (cmp == 0)
		cmp = (x->order > y->order) - (x->order < y->order);
	return cmp;
}

/* One seal per tenant over the cut's members, split at authlog_seal_max_events. */
static void
write_seals(Cut *cut)
{
	int			start = 0;

	qsort(cut->members, cut->count, sizeof(SealMember), member_order);
	while (start < cut->count)
	{
		int			end = start + 1;

		while (end < cut->count && end - start < authlog_seal_max_events &&
			   seal_tenant_cmp(cut->members[end].tenant_id, cut->members[end].tenant_len,
							   cut->members[start].tenant_id, cut->members[start].tenant_len) == 0)
			end++;
		CHECK_FOR_INTERRUPTS();
		write_seal(cut, cut->members + start, end - start);
		start = end;
	}
}

static SealMember *
cut_add_member(Cut *cut)
{
	MemoryContext old = MemoryContextSwitchTo(cut_context);
	SealMember *member;

	if (cut->count == cut->allocated)
	{
		cut->allocated = Max(256, cut->allocated * 2);
		cut->members = cut->members
			? repalloc(cut->members, sizeof(SealMember) * cut->allocated)
			: palloc(sizeof(SealMember) * cut->allocated);
	}
	member = &cut->members[cut->count];
	member->order = cut->count++;
	MemoryContextSwitchTo(old);
	return member;
}

/* A tenant_id as the decoder wrote it: a string, or {"%bytes": ...} (SQL_ASCII). */
static bool
message_tenant(const bson_t *document, const char **tenant, int *len)
{
	bson_iter_t iter;
	bson_iter_t bytes;
	uint32_t	length;

	if (!bson_iter_init_find(&iter, document, "tenant_id"))
		return false;
	if (BSON_ITER_HOLDS_UTF8(&iter))
	{
		*tenant = bson_iter_utf8(&iter, &length);
		*len = (int) length;
		return true;
	}
	if (BSON_ITER_HOLDS_DOCUMENT(&iter) && bson_iter_recurse(&iter, &bytes) &&
		bson_iter_find(&bytes, BSON_RULES_BYTES_MARKER) && BSON_ITER_HOLDS_BINARY(&bytes))
	{
		bson_subtype_t subtype;

		bson_iter_binary(&bytes, &subtype, &length, (const uint8_t **) tenant);
		*len = (int) length;
		return true;
	}
	return false;
}

/* An insert into auth_logs, as a member of the cut; other messages are skipped. */
static void
cut_add_message(Cut *cut, const bson_t *message)
{
	bson_iter_t iter;
	bson_iter_t field;
	const uint8_t *data;
	uint32_t	len;
	bson_t		document;
	const char *tenant;
	int			tenant_len;
	SealMember *member;
	XLogRecPtr	end_lsn = InvalidXLogRecPtr;

	if (bson_iter_init_find(&iter, message, "end_lsn"))
		end_lsn = (XLogRecPtr) bson_iter_as_int64(&iter);
	cut->chunk_end = Max(cut->chunk_end, end_lsn);
	if (!bson_iter_init_find(&iter, message, "op") || !BSON_ITER_HOLDS_UTF8(&iter) ||
		strcmp(bson_iter_utf8(&iter, NULL), "insert") != 0 ||
		!bson_iter_init_find(&iter, message, "table") || !BSON_ITER_HOLDS_UTF8(&iter) ||
		strcmp(bson_iter_utf8(&iter, NULL), "auth_logs") != 0)
		return;
	if (!bson_iter_init_find(&iter, message, "doc") || !BSON_ITER_HOLDS_DOCUMENT(&iter))
		elog(ERROR, "authlog sealer: an auth_logs insert has no document");
	bson_iter_document(&iter, &len, &data);
	if (!bson_init_static(&document, data, len) || !message_tenant(&document, &tenant, &tenant_len))
		elog(ERROR, "authlog sealer: an auth_logs document has no tenant_id");

	member = cut_add_member(cut);
	member->tenant_id = MemoryContextAlloc(cut_context, tenant_len + 1);
	memcpy((char *) member->tenant_id, tenant, tenant_len);
	member->tenant_len = tenant_len;
	if (!bson_iter_init(&iter, &document) || !bson_iter_find_descendant(&iter, "log_id", &field) ||
		!BSON_ITER_HOLDS_BINARY(&field))
		elog(ERROR, "authlog sealer: an auth_logs document has no log_id");
	{
		bson_subtype_t subtype;
		const uint8_t *id;

		bson_iter_binary(&field, &subtype, &len, &id);
		if (len != UUID_LEN)
			elog(ERROR, "authlog sealer: an auth_logs document has a malformed log_id");
		memcpy(member->log_id.data, id, UUID_LEN);
	}
	seal_event_digest(&document, member->digest);
	member->commit_lsn = bson_iter_init_find(&iter, message, "commit_lsn")
		? (XLogRecPtr) bson_iter_as_int64(&iter) : InvalidXLogRecPtr;
	member->committed_at = bson_iter_init_find(&iter, message, "commit_time_us")
		? bson_iter_as_int64(&iter) - UNIX_TO_POSTGRES_USECS
		: GetCurrentTransactionStartTimestamp();
}

/*
 * Peek the slot up to the cut's target, at most authlog_seal_max_events
 * changes (whole transactions), and seal what it returned, in one
 * transaction.
 */
static bool
step_seal_chunk(void *arg)
{
	Cut		   *cut = arg;
	Oid			types[3] = {TEXTOID, PG_LSNOID, INT4OID};
	Datum		values[3] = {CStringGetTextDatum(SEALER_SLOT_NAME), LSNGetDatum(cut->target),
	Int32GetDatum(authlog_seal_max_events)};
	uint64		i;

	if (SPI_execute_with_args("SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, $2, $3,"
							  " 'tables', 'auth_logs', 'operations', 'insert')",
							  3, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not peek the slot");
	cut->messages = (int) SPI_processed;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *data = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		bson_t		message;

		if (!bson_init_static(&message, (const uint8_t *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data)))
			elog(ERROR, "authlog sealer: the output plugin produced an invalid message");
		cut_add_message(cut, &message);
	}
	SPI_freetuptable(SPI_tuptable);
	write_seals(cut);
	if (cut->written != NIL)
		mirror_note_write();
	return true;
}

/*
 * Seal the rows no seal lists, found by a scan, after the slot was created
 * again: those committed before it, which it will never decode.  Rows the
 * slot decodes too are dropped from its seals by seal_members.
 */
static bool
step_seal_backlog(void *arg)
{
	Cut		   *cut = arg;
	SPIPlanPtr	plan;
	Portal		portal;
	const char *last_tenant = NULL;
	int			last_tenant_len = 0;

	plan = SPI_prepare("SELECT l.tenant_id, l.log_id, authlog.event_digest(l), l.recorded_at"
					   " FROM authlog.auth_logs l"
					   " WHERE NOT EXISTS (SELECT 1 FROM authlog.seal_members m"
					   "                   WHERE m.tenant_id OPERATOR(pg_catalog.=) l.tenant_id"
					   "                     AND m.log_id OPERATOR(pg_catalog.=) l.log_id)"
					   " ORDER BY l.tenant_id, l.recorded_at, l.log_id", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "authlog sealer: could not read authlog.auth_logs");
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, authlog_seal_max_events);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			text	   *tenant = DatumGetTextPP(SPI_getbinval(tuple, desc, 1, &isnull));
			bytea	   *digest = DatumGetByteaPP(SPI_getbinval(tuple, desc, 3, &isnull));
			SealMember *member = cut_add_member(cut);

			member->tenant_len = VARSIZE_ANY_EXHDR(tenant);
			if (last_tenant == NULL ||
				seal_tenant_cmp(last_tenant, last_tenant_len, VARDATA_ANY(tenant), member->tenant_len) != 0)
			{
				/* rows come tenant by tenant: one copy of each id */
				char	   *copy = MemoryContextAlloc(cut_context, member->tenant_len + 1);

				memcpy(copy, VARDATA_ANY(tenant), member->tenant_len);
				last_tenant = copy;
				last_tenant_len = member->tenant_len;
			}
			member->tenant_id = last_tenant;
			memcpy(member->log_id.data, DatumGetUUIDP(SPI_getbinval(tuple, desc, 2, &isnull))->data, UUID_LEN);
			memcpy(member->digest, VARDATA_ANY(digest), SEAL_DIGEST_LEN);
			member->commit_lsn = InvalidXLogRecPtr;
			member->committed_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 4, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
		/* seal batch by batch: memory stays bounded whatever the backlog */
		write_seals(cut);
		cut->count = 0;
	}
	SPI_cursor_close(portal);
	if (cut->written != NIL)
		mirror_note_write();
	worker_clear_pending(SEALER_SLOT_NAME);
	return true;
}

/* The anchors outside the tables, once the seals committed. */
static void
announce_cut(Cut *cut)
{
	ListCell   *lc;

	foreach(lc, cut->written)
	{
		WrittenSeal *seal = lfirst(lc);

		ereport(LOG,
				(errmsg("authlog seal %s %s", seal->seal_id, seal->digest_hex),
				 errdetail("Seal " INT64_FORMAT " of tenant \"%s\" covers %d events.",
						   seal->seal_no, seal->tenant_id, seal->event_count)));
	}
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	authlog_sealer_shared->seals_written += list_length(cut->written);
	authlog_sealer_shared->events_sealed += cut->events;
	SpinLockRelease(&authlog_sealer_shared->mutex);
}


/* ---------- rounds ---------- */

/*
 * Make sure the slot exists; when it had to be created, seal what it will
 * never decode.  Returns 0 when cuts can start, otherwise the wait.
 */
static long
prepare_slot(void)
{
	WorkerSlot	slot_state = {.name = SEALER_SLOT_NAME};
	WorkerSlot *slot = &slot_state;
	Cut			cut;

	if (!run_step(worker_step_check_slot, slot))
		return report_failure("could not check the sealer's slot");
	if (slot->exists && !slot->lost && !slot->pending)
	{
		slot_ready = true;
		return 0;
	}
	if (!slot->exists || slot->lost)
	{
		ereport(LOG,
				(errmsg("authlog sealer: %s; sealing the events no seal lists from a table scan",
						slot->lost ? "the slot was invalidated" : "the slot is missing")));
		if (!run_step(worker_step_mark_pending, slot))
			return report_failure("could not start sealing the backlog");
		if (!run_step(worker_step_create_slot, slot))
			return report_failure("could not create the sealer's logical slot");
	}
	MemoryContextReset(cut_context);
	memset(&cut, 0, sizeof(cut));
	if (!run_step(step_seal_backlog, &cut))
		return report_failure("could not seal the backlog");
	announce_cut(&cut);
	members_may_be_sealed = true;
	slot_ready = true;
	return 0;
}

/* A cut: seal everything committed before it began.  Returns the wait on failure. */
static long
seal_round(void)
{
	XLogRecPtr	target;

	if (!slot_ready)
	{
		long		wait = prepare_slot();

		if (wait > 0)
			return wait;
	}

	/* did anyone else consume the slot since the sealer last advanced it? */
	{
		SlotPosition position;

		if (!run_step(step_read_confirmed, &position))
			return report_failure("could not read the sealer's slot");
		if (position.found && !XLogRecPtrIsInvalid(slot_confirmed_by_sealer) &&
			position.confirmed > slot_confirmed_by_sealer)
		{
			WorkerSlot	slot = {.name = SEALER_SLOT_NAME};

			ereport(LOG,
					(errmsg("authlog sealer: slot \"%s\" was consumed by another session, from %X/%X to %X/%X; sealing the events no seal lists from a table scan",
							SEALER_SLOT_NAME, LSN_FORMAT_ARGS(slot_confirmed_by_sealer),
							LSN_FORMAT_ARGS(position.confirmed)),
					 errhint("Only the sealer may read slot \"%s\": revoke REPLICATION from roles that do not need it.",
							 SEALER_SLOT_NAME)));
			slot_confirmed_by_sealer = InvalidXLogRecPtr;
			if (!run_step(worker_step_mark_pending, &slot))
				return report_failure("could not start sealing the backlog");
			slot_ready = false;
			{
				long		wait = prepare_slot();

				if (wait > 0)
					return wait;
			}
			if (!run_step(step_read_confirmed, &position))
				return report_failure("could not read the sealer's slot");
		}
		if (position.found)
			slot_confirmed_by_sealer = Max(slot_confirmed_by_sealer, position.confirmed);
	}

	/*
	 * Each peek decodes from the slot's restart point, which moves only to
	 * where decoding saw a running-transactions record (the background
	 * writer logs one every 15 s).  One logged here, before the cut, lets
	 * the advance after it bring the restart point close, so the next cut
	 * does not decode again what this one sealed.
	 */
	if (XLogStandbyInfoActive())
		(void) LogStandbySnapshot();

	/* asynchronous commits included: decoding reads flushed WAL only */
	XLogFlush(GetXLogInsertRecPtr());
	target = GetFlushRecPtr(NULL);
	for (;;)
	{
		Cut			cut;
		XLogRecPtr	advance_to;
		bool		done;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(cut_context);
		memset(&cut, 0, sizeof(cut));
		cut.target = target;
		if (!run_step(step_seal_chunk, &cut))
			return report_failure("could not seal a cut");
		announce_cut(&cut);

		/* a short chunk reached the target: nothing before it is left */
		done = cut.messages < authlog_seal_max_events;
		advance_to = done ? target : cut.chunk_end;
		if (!worker_advance_slot(SEALER_SLOT_NAME, advance_to, &step_error))
		{
			members_may_be_sealed = true;
			return report_failure("could not advance the sealer's slot");
		}
		slot_confirmed_by_sealer = Max(slot_confirmed_by_sealer, advance_to);
		if (done)
			break;
	}

	members_may_be_sealed = false;
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	authlog_sealer_shared->sealed_lsn = Max(authlog_sealer_shared->sealed_lsn, target);
	authlog_sealer_shared->last_cut_at = GetCurrentTimestamp();
	if (authlog_sealer_shared->state == SEALER_BACKING_OFF)
		ereport(LOG, (errmsg("authlog sealer: sealing again")));
	authlog_sealer_shared->state = SEALER_SEALING;
	SpinLockRelease(&authlog_sealer_shared->mutex);
	backoff_ms = 0;
	return 0;
}

static void
sealer_detach(int code, Datum arg)
{
	if (authlog_sealer_shared)
	{
		SpinLockAcquire(&authlog_sealer_shared->mutex);
		authlog_sealer_shared->latch = NULL;
		authlog_sealer_shared->pid = 0;
		SpinLockRelease(&authlog_sealer_shared->mutex);
	}
}

void
authlog_sealer_main(Datum main_arg)
{
	TimestampTz next_cut = 0;
	TimestampTz retry_at = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(authlog_mirror_dbname, NULL, 0);
	authlog_pin_worker_session();
	pgstat_report_appname("authlog sealer");

	cut_context = AllocSetContextCreate(TopMemoryContext, "authlog sealer cut",
										ALLOCSET_DEFAULT_SIZES);
	SpinLockAcquire(&authlog_sealer_shared->mutex);
	authlog_sealer_shared->pid = MyProcPid;
	authlog_sealer_shared->latch = MyLatch;
	authlog_sealer_shared->state = SEALER_STARTING;
	SpinLockRelease(&authlog_sealer_shared->mutex);
	before_shmem_exit(sealer_detach, (Datum) 0);

	for (;;)
	{
		TimestampTz now;
		TimestampTz wake_at;
		bool		requested;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		SpinLockAcquire(&authlog_sealer_shared->mutex);
		requested = authlog_sealer_shared->requested_lsn > authlog_sealer_shared->sealed_lsn;
		SpinLockRelease(&authlog_sealer_shared->mutex);

		now = GetCurrentTimestamp();
		if (backoff_ms > 0 && now < retry_at)
			wake_at = retry_at;
		else if (authlog_seal_interval_s == 0 && !requested)
		{
			/* paused: the slot keeps the backlog until sealing resumes */
			set_state(SEALER_PAUSED);
			wake_at = TimestampTzPlusMilliseconds(now, SEALER_PAUSED_WAIT_MS);
		}
		else if (requested || now >= next_cut)
		{
			long		wait = seal_round();

			now = GetCurrentTimestamp();
			if (wait > 0)
				wake_at = retry_at = TimestampTzPlusMilliseconds(now, wait);
			else
			{
				next_cut = TimestampTzPlusMilliseconds(now, (int64) Max(authlog_seal_interval_s, 1) * 1000);
				continue;		/* a request may have come in meanwhile */
			}
		}
		else
			wake_at = next_cut;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(1, TimestampDifferenceMilliseconds(now, wake_at)),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
