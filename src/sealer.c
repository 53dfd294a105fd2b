/*-------------------------------------------------------------------------
 *
 * sealer.c
 *	  The sealing background worker: seals every committed auth_logs row,
 *	  per tenant, in commit order, within authlog.seal_interval.
 *
 *	  It reads a logical slot of its own (authlog_seal), fed by the authlog
 *	  output plugin, so the document store being down never holds it back
 *	  and login transactions never wait for it.  Each cut reads the slot's
 *	  stream (slot_stream.c: one decoding context for as long as the
 *	  sealer runs, so each event is decoded once) up to the WAL flushed
 *	  when the cut began and, in one transaction, writes
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
#include "storage/standby.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "change_message.h"
#include "mirror.h"
#include "sealer.h"
#include "sha256.h"

PGDLLEXPORT void authlog_sealer_main(Datum main_arg);

int			authlog_seal_interval_s = 60;
int			authlog_max_clock_skew_s = 5 * 60;
int			authlog_seal_max_events = 20000;
int			authlog_seal_verify_interval_s = 24 * 3600;
char	   *authlog_seal_slot_name = "authlog_seal";
bool		authlog_seal_test_fail_anchor = false;

SealerShared *authlog_sealer_shared = NULL;

const char *const sealer_state_names[] = {
	[SEALER_STARTING] = "starting",
	[SEALER_SEALING] = "sealing",
	[SEALER_PAUSED] = "paused",
	[SEALER_BACKING_OFF] = "backing_off",
};
const int	sealer_nstates = lengthof(sealer_state_names);

/* Worker-local state */
static Worker sealer_worker = {
	.name = "authlog sealer",
	.backing_off_state = SEALER_BACKING_OFF,
	.retry_hint = "The sealer retries with backoff; its slot keeps every event until it is sealed.",
};
static bool slot_ready = false;
static SlotStream slot_stream;	/* open while the sealer holds its slot */
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
	Datum		values[1] = {CStringGetTextDatum(authlog_seal_slot_name)};
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

/* A seal being written: its contents, computed before any is inserted */
typedef struct PendingSeal
{
	SealContents contents;
	pg_uuid_t	seal_id;
	SealMember *members;		/* into the cut's array, count = event_count */
	uint8		digest[SEAL_DIGEST_LEN];
	bytea	   *previous;		/* NULL for a tenant's first seal */
} PendingSeal;

/* A cut's anchor, announced once the seals it anchors committed */
typedef struct CutAnchor
{
	char	   *root_hex;
	int			size;			/* seals it anchors */
	int64		events;
} CutAnchor;

typedef struct Cut
{
	XLogRecPtr	target;			/* read up to here */
	XLogRecPtr	chunk_end;		/* end of the last transaction read */
	XLogRecPtr	read_upto;		/* where the stream stopped */
	int			messages;		/* what the read returned */
	SealMember *members;
	int			count;
	int			allocated;
	List	   *anchors;		/* CutAnchor * */
} Cut;

/* ---------- settings and shared memory ---------- */

static void
sealer_shared_startup(void *shared, bool found)
{
	SealerShared *sealer = shared;

	if (!found)
	{
		SpinLockInit(&sealer->worker.mutex);
		sealer->worker.state = SEALER_STARTING;
	}
}

void
sealer_init(void)
{
	/*
	 * How long a committed event may wait for its seal.  0 pauses sealing:
	 * the sealer's slot then keeps the events, and WAL, until it resumes.
	 */
	DefineCustomIntVariable("authlog.seal_interval",
							"Longest time between a committed event and the seal that covers it.",
							"The sealer cuts seals this often; 0 pauses it, and its slot keeps the unsealed events (and their WAL) until sealing resumes.",
							&authlog_seal_interval_s,
							60, 0, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Bounds a seal's document in the store (20,000 members are about 1.3 MB)
	 * and the sealer's memory: it also reads its slot this many changes at a
	 * time.
	 */
	DefineCustomIntVariable("authlog.seal_max_events",
							"Most events one seal covers; a cut seals more as several seals.",
							"The sealer also reads its slot, and the events a table scan finds, this many at a time.",
							&authlog_seal_max_events,
							20000, 100, 200000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/*
	 * Callers report occurred_at from their own clocks; an event sealed
	 * after a seal that closed more than this after its occurred_at is
	 * reported as back-dated by the verifiers.
	 */
	DefineCustomIntVariable("authlog.max_clock_skew",
							"How far an event's occurred_at may lie before its tenant's previous seal before verification reports it as back-dated.",
							"Rows committed after a seal but claiming a time inside the sealed period by more than this are reported by authlog.verify_seals().",
							&authlog_max_clock_skew_s,
							5 * 60, 0, 7 * 24 * 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * A full verification reads every seal and event: daily by default, so
	 * a change to history shows in authlog.sealer_status (and the metrics)
	 * within a day even if nobody runs verify_seals.
	 */
	DefineCustomIntVariable("authlog.seal_verify_interval",
							"How often the sealer runs a full verification of every tenant's seals; 0 never.",
							"The result (seals checked, findings, when) is in authlog.sealer_status(). It verifies one tenant at a time between cuts; the first runs one interval after the sealer starts, or 10 minutes if that is sooner.",
							&authlog_seal_verify_interval_s,
							24 * 3600, 0, 30 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Test-only: sending a cut's NOTIFY fails, as it does when the
	 * notification queue is full (PostgreSQL 15 cannot shrink the queue).
	 */
	DefineCustomBoolVariable("authlog.seal_test_fail_anchor",
							 "Test only: make the sealer's NOTIFY authlog_seal fail.",
							 NULL,
							 &authlog_seal_test_fail_anchor,
							 false,
							 PGC_SIGHUP, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	/* The worker and its shared memory need preloading. */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("authlog.seal_slot_name",
							   "Name of the logical replication slot the sealer reads.",
							   "The sealer creates it, with the authlog output plugin, when it is missing; no other session may consume it. Takes effect at server start.",
							   &authlog_seal_slot_name,
							   "authlog_seal",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	worker_shared_add("authlog sealer", sizeof(SealerShared),
					  (void **) &authlog_sealer_shared, NULL, sealer_shared_startup);
	worker_register("authlog_sealer_main", sealer_worker.name);
}

void
sealer_wake(void)
{
	if (authlog_sealer_shared)
		worker_wake(&authlog_sealer_shared->worker);
}

/*
 * A step failed: back off, and check the slot again (it may be gone); the
 * stream is closed, so what the failed cut read is read again.
 */
static long
report_failure(const char *what)
{
	slot_stream_close(&slot_stream);
	slot_ready = false;
	return worker_report_failure(&sealer_worker, what, sealer_worker.step_error);
}

static bool
run_step(WorkerStep step, void *arg)
{
	return worker_step(&sealer_worker, step, arg);
}


/* ---------- writing seals ---------- */

/* The members' ids as Datums, pointing into the members */
static Datum *
member_id_datums(const SealMember *members, int count)
{
	Datum	   *elements = palloc(sizeof(Datum) * Max(count, 1));

	for (int i = 0; i < count; i++)
		elements[i] = UUIDPGetDatum(&members[i].log_id);
	return elements;
}

static Datum
uuid_array_of(const Datum *ids, int count)
{
	return PointerGetDatum(construct_array((Datum *) ids, count, UUIDOID, UUID_LEN, false,
										   TYPALIGN_CHAR));
}

/* Drop the members some seal already lists: a cut replayed after a crash. */
static int
drop_sealed_members(Datum tenant, SealMember *members, int count)
{
	Oid			types[2] = {TEXTOID, UUIDARRAYOID};
	Datum		values[2] = {tenant, uuid_array_of(member_id_datums(members, count), count)};
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
 * The tenant's last seal: its number and digest (a copy), or 0 and NULL.
 * The cut about to extend the chain checks that link first (cheap: two
 * rows by their key): the seal still digests to its digest, and names its
 * predecessor's.  A broken link is counted and logged, and the chain goes
 * on from the stored digest: the break stays visible to every verifier.
 */
static int64
last_seal(Datum tenant, bytea **digest)
{
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	bool		intact;
	bool		linked;
	int64		seal_no;

	/* not read-only: a backlog seals batch by batch, and sees its own seals */
	if (SPI_execute_with_args("SELECT s.seal_no, s.digest,"
							  " authlog.seal_digest(s) OPERATOR(pg_catalog.=) s.digest,"
							  " s.previous_digest IS NOT DISTINCT FROM p.digest"
							  " FROM authlog.seals s"
							  " LEFT JOIN authlog.seals p ON p.tenant_id OPERATOR(pg_catalog.=) s.tenant_id"
							  " AND p.seal_no OPERATOR(pg_catalog.=) (s.seal_no OPERATOR(pg_catalog.-) 1)"
							  " WHERE s.tenant_id OPERATOR(pg_catalog.=) $1"
							  " ORDER BY s.seal_no DESC LIMIT 1",
							  1, types, &tenant, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not read the tenant's last seal");
	*digest = NULL;
	if (SPI_processed == 0)
		return 0;
	seal_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*digest = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	intact = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) && !isnull;
	linked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));

	SpinLockAcquire(&authlog_sealer_shared->worker.mutex);
	authlog_sealer_shared->links_checked++;
	if (!intact || !linked)
		authlog_sealer_shared->links_broken++;
	SpinLockRelease(&authlog_sealer_shared->worker.mutex);
	if (!intact || !linked)
		ereport(WARNING,
				(errmsg("authlog sealer: seal %lld of tenant \"%s\" %s",
						(long long) seal_no, TextDatumGetCString(tenant),
						!intact ? "no longer matches its digest" : "does not name its predecessor's digest"),
				 errdetail("The next seal chains to the digest as stored; the chain is broken before it."),
				 errhint("Run SELECT * FROM authlog.verify_seals(%s) to see what changed.",
						 quote_literal_cstr(TextDatumGetCString(tenant)))));
	return seal_no;
}

/*
 * The contents and digest of one seal over members (one tenant's, in
 * commit order), chained to previous (the digest of seal seal_no - 1).
 */
static void
compose_seal(PendingSeal *seal, SealMember *members, int count, int64 seal_no,
			 bytea *previous)
{
	SealContents *c = &seal->contents;
	uint8	   *member_bytes = palloc((Size) count * UUID_LEN);
	uint8	   *member_digests = palloc((Size) count * SEAL_DIGEST_LEN);
	int			i;

	memset(seal, 0, sizeof(PendingSeal));
	seal->members = members;
	seal->previous = previous;
	c->tenant_id = members[0].tenant_id;
	c->tenant_len = members[0].tenant_len;
	c->seal_no = seal_no;
	if (previous)
	{
		c->previous_digest = (const uint8 *) VARDATA_ANY(previous);
		c->previous_digest_len = VARSIZE_ANY_EXHDR(previous);
	}
	event_id_random(&seal->seal_id);
	memcpy(c->seal_id, seal->seal_id.data, UUID_LEN);
	c->sealed_at = GetCurrentTransactionStartTimestamp();
	c->first_commit_lsn = members[0].commit_lsn;
	c->last_commit_lsn = members[count - 1].commit_lsn;
	c->first_committed_at = members[0].committed_at;
	c->last_committed_at = members[count - 1].committed_at;
	c->event_count = count;
	for (i = 0; i < count; i++)
	{
		memcpy(member_bytes + (Size) i * UUID_LEN, members[i].log_id.data, UUID_LEN);
		memcpy(member_digests + (Size) i * SEAL_DIGEST_LEN, members[i].digest, SEAL_DIGEST_LEN);
	}
	c->members = member_bytes;
	c->members_len = count * UUID_LEN;
	c->member_digests = member_digests;
	c->member_digests_len = count * SEAL_DIGEST_LEN;
	seal_compute_digest(c, seal->digest);
}

/*
 * Does authlog.seals keep anchors (1.1)?  A database still at 1.0 runs the
 * updated library until ALTER EXTENSION authlog UPDATE: its seals are cut
 * and anchored in the log as ever, without the columns.
 */
static bool
seals_keep_anchors(void)
{
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_attribute"
					" WHERE attrelid OPERATOR(pg_catalog.=) 'authlog.seals'::pg_catalog.regclass"
					" AND attname OPERATOR(pg_catalog.=) 'anchor_root' AND NOT attisdropped",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not read the columns of authlog.seals");
	return SPI_processed > 0;
}

/* Insert a composed seal, with its place in the cut's anchor, and index its members. */
static void
insert_seal(const PendingSeal *seal, bool keep_anchor, const uint8 *root, int index,
			int size, const uint8 *path, int path_hashes)
{
	const SealContents *c = &seal->contents;
	Datum		tenant = PointerGetDatum(cstring_to_text_with_len(c->tenant_id, c->tenant_len));
	Datum	   *log_ids = member_id_datums(seal->members, c->event_count);
	Datum		members = uuid_array_of(log_ids, c->event_count);
	Oid			types[17] = {TEXTOID, INT8OID, UUIDOID, TIMESTAMPTZOID, PG_LSNOID, PG_LSNOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, UUIDARRAYOID, BYTEAOID, BYTEAOID, BYTEAOID,
	BYTEAOID, INT4OID, INT4OID, BYTEAOID};
	Datum		values[17];
	char		nulls[17];
	Oid			member_types[3] = {TEXTOID, INT8OID, UUIDARRAYOID};
	Datum		member_values[3];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = tenant;
	values[1] = Int64GetDatum(c->seal_no);
	values[2] = UUIDPGetDatum(&seal->seal_id);
	values[3] = TimestampTzGetDatum(c->sealed_at);
	values[4] = LSNGetDatum(c->first_commit_lsn);
	values[5] = LSNGetDatum(c->last_commit_lsn);
	values[6] = TimestampTzGetDatum(c->first_committed_at);
	values[7] = TimestampTzGetDatum(c->last_committed_at);
	values[8] = Int32GetDatum(c->event_count);
	values[9] = members;
	values[10] = bytes_to_bytea_datum(c->member_digests, c->member_digests_len);
	values[11] = seal->previous ? PointerGetDatum(seal->previous) : (Datum) 0;
	nulls[11] = seal->previous ? ' ' : 'n';
	values[12] = bytes_to_bytea_datum(seal->digest, SEAL_DIGEST_LEN);
	values[13] = bytes_to_bytea_datum(root, SEAL_DIGEST_LEN);
	values[14] = Int32GetDatum(index);
	values[15] = Int32GetDatum(size);
	values[16] = bytes_to_bytea_datum(path, (Size) path_hashes * SEAL_DIGEST_LEN);
	if (SPI_execute_with_args(keep_anchor
							  ? "INSERT INTO authlog.seals (tenant_id, seal_no, seal_id, sealed_at,"
							  " first_commit_lsn, last_commit_lsn, first_committed_at, last_committed_at,"
							  " event_count, members, member_digests, previous_digest, digest,"
							  " anchor_root, anchor_index, anchor_size, anchor_path)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
							  : "INSERT INTO authlog.seals (tenant_id, seal_no, seal_id, sealed_at,"
							  " first_commit_lsn, last_commit_lsn, first_committed_at, last_committed_at,"
							  " event_count, members, member_digests, previous_digest, digest)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
							  keep_anchor ? 17 : 13, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "authlog sealer: could not insert a seal");

	if (seal_members_insert(tenant, c->seal_no, log_ids, c->event_count))
		return;
	/* the statement, for a table seal_members.c must leave to it */
	member_values[0] = tenant;
	member_values[1] = Int64GetDatum(c->seal_no);
	member_values[2] = members;
	if (SPI_execute_with_args("INSERT INTO authlog.seal_members (tenant_id, log_id, seal_no)"
							  " SELECT $1, m, $2 FROM pg_catalog.unnest($3) AS m",
							  3, member_types, member_values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "authlog sealer: could not index a seal's members");
}

static int
member_order(const void *a, const void *b)
{
	const SealMember *x = *(SealMember *const *) a;
	const SealMember *y = *(SealMember *const *) b;
	int			cmp = seal_tenant_cmp(x->tenant_id, x->tenant_len, y->tenant_id, y->tenant_len);

	if (cmp == 0)
		cmp = (x->order > y->order) - (x->order < y->order);
	return cmp;
}

/*
 * The cut's members tenant by tenant, each tenant's in commit order.  The
 * members are sorted by pointer and then moved once: sorting the members
 * themselves (88 bytes each) spent most of its time swapping them
 * (callgrind: 3.2 k instructions per event, against about 1.2 k now).
 */
static void
sort_members(Cut *cut)
{
	SealMember **order;
	SealMember *sorted;
	int			i;

	if (cut->count < 2)
		return;
	order = palloc(sizeof(SealMember *) * cut->count);
	for (i = 0; i < cut->count; i++)
		order[i] = &cut->members[i];
	qsort(order, cut->count, sizeof(SealMember *), member_order);
	sorted = MemoryContextAlloc(cut_context, sizeof(SealMember) * cut->allocated);
	for (i = 0; i < cut->count; i++)
		sorted[i] = *order[i];
	pfree(order);
	pfree(cut->members);
	cut->members = sorted;
}

/*
 * Compose one seal per tenant over the cut's members (split at
 * authlog_seal_max_events), each chained to the tenant's previous one.
 * Returns how many; *seals is allocated in the current context.
 */
static int
compose_seals(Cut *cut, PendingSeal **seals)
{
	int			start = 0;
	int			n = 0;
	int64		seal_no = 0;
	bytea	   *previous = NULL;

	sort_members(cut);
	*seals = palloc(sizeof(PendingSeal) * Max(cut->count, 1));
	while (start < cut->count)
	{
		SealMember *first = &cut->members[start];
		bool		new_tenant = n == 0 ||
			seal_tenant_cmp((*seals)[n - 1].contents.tenant_id, (*seals)[n - 1].contents.tenant_len,
							first->tenant_id, first->tenant_len) != 0;
		Datum		tenant = PointerGetDatum(cstring_to_text_with_len(first->tenant_id, first->tenant_len));
		int			end = start + 1;
		int			count;

		while (end < cut->count && end - start < authlog_seal_max_events &&
			   seal_tenant_cmp(cut->members[end].tenant_id, cut->members[end].tenant_len,
							   first->tenant_id, first->tenant_len) == 0)
			end++;
		CHECK_FOR_INTERRUPTS();
		count = end - start;
		if (members_may_be_sealed)
			count = drop_sealed_members(tenant, first, count);
		if (count > 0)
		{
			/* a tenant's first seal of the cut chains to its last in the table */
			if (new_tenant)
				seal_no = last_seal(tenant, &previous);
			compose_seal(&(*seals)[n], first, count, ++seal_no, previous);
			previous = (bytea *) DatumGetPointer(bytes_to_bytea_datum((*seals)[n].digest, SEAL_DIGEST_LEN));
			n++;
		}
		start = end;
	}
	return n;
}

/*
 * Write the cut's seals, anchored together: the root of an RFC 6962
 * Merkle tree over their digests, in the order written, goes to the server
 * log and NOTIFY once the cut commits (announce_cut), and each seal keeps
 * the root, its leaf index, the tree's size and its audit path, so one
 * line anchors every seal of the cut (doc/seals.md).
 */
static void
write_seals(Cut *cut)
{
	PendingSeal *seals;
	int			n = compose_seals(cut, &seals);
	uint8	   *digests;
	uint8		root[SEAL_DIGEST_LEN];
	uint8	   *paths;
	int		   *path_lens;
	int			max_path;
	int64		events = 0;
	int			i;
	bool		keep_anchor;
	CutAnchor  *anchor;
	MemoryContext old;

	if (n == 0)
		return;
	digests = palloc((Size) n * SEAL_DIGEST_LEN);
	for (i = 0; i < n; i++)
		memcpy(digests + (Size) i * SEAL_DIGEST_LEN, seals[i].digest, SEAL_DIGEST_LEN);
	max_path = Max(seal_anchor_max_path(n), 1);
	paths = palloc((Size) n * max_path * SEAL_DIGEST_LEN);
	path_lens = palloc(sizeof(int) * n);
	seal_anchor_tree(digests, n, root, paths, path_lens, max_path);
	keep_anchor = seals_keep_anchors();
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		insert_seal(&seals[i], keep_anchor, root, i, n,
					paths + (Size) i * max_path * SEAL_DIGEST_LEN, path_lens[i]);
		events += seals[i].contents.event_count;
	}

	old = MemoryContextSwitchTo(cut_context);
	anchor = palloc(sizeof(CutAnchor));
	anchor->root_hex = palloc(SEAL_DIGEST_LEN * 2 + 1);
	hex_encode((const char *) root, SEAL_DIGEST_LEN, anchor->root_hex);
	anchor->root_hex[SEAL_DIGEST_LEN * 2] = '\0';
	anchor->size = n;
	anchor->events = events;
	cut->anchors = lappend(cut->anchors, anchor);
	MemoryContextSwitchTo(old);
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

/*
 * An insert into auth_logs or (1.1) access_log or records_log, as a member
 * of the cut; other messages are skipped.  All are evidence of the tenant,
 * sealed in its one chain: a member is an event's log_id, an access's
 * access_id or a record's record_id.
 */
static void
cut_add_message(Cut *cut, const bson_t *bytes)
{
	ChangeMessage message;
	const char *tenant;
	int			tenant_len;
	SealMember *member;

	if (!change_message_read(bytes, &message))
		elog(ERROR, "authlog sealer: the output plugin produced a message that is not a change message");
	cut->chunk_end = Max(cut->chunk_end, message.end_lsn);
	if (message.op != CHANGE_INSERT ||
		(message.table != CHANGE_TABLE_AUTH_LOGS && message.table != CHANGE_TABLE_ACCESS_LOG &&
		 message.table != CHANGE_TABLE_RECORDS_LOG))
		return;
	if (!message.has_doc)
		elog(ERROR, "authlog sealer: an %s insert has no document", change_table_names[message.table]);
	if (!change_message_tenant(&message, &tenant, &tenant_len))
		elog(ERROR, "authlog sealer: an %s document has no tenant_id", change_table_names[message.table]);

	member = cut_add_member(cut);
	member->tenant_id = MemoryContextAlloc(cut_context, tenant_len + 1);
	memcpy((char *) member->tenant_id, tenant, tenant_len);
	member->tenant_len = tenant_len;
	if (!change_message_member_id(&message, &member->log_id))
		elog(ERROR, "authlog sealer: an %s document has no id", change_table_names[message.table]);
	/* the stream's documents are in the digest form (option document): hashed as they are */
	authlog_sha256(bson_get_data(&message.doc), message.doc.len, member->digest);
	member->commit_lsn = message.commit_lsn;
	member->committed_at = message.has_commit_time ? message.commit_time
		: GetCurrentTransactionStartTimestamp();
}

/* Each message the stream decodes, into the cut */
static void
cut_add_from_stream(void *arg, const char *data, Size len)
{
	bson_t		message;

	if (!bson_init_static(&message, (const uint8_t *) data, len))
		elog(ERROR, "authlog sealer: the output plugin produced an invalid message");
	cut_add_message((Cut *) arg, &message);
}

/*
 * Read the slot's stream up to the cut's target, at most
 * authlog_seal_max_events events (whole transactions), and seal what it
 * returned, in one transaction.  The stream is opened first when it is
 * closed (at start, after a failure, after a pause).
 */
static bool
step_seal_chunk(void *arg)
{
	static const char *const options[] = {
		"tables", "auth_logs,access_log,records_log", "operations", "insert",
		/* each document in the form a seal digests: hashed as it comes */
		"document", "digest", NULL
	};
	Cut		   *cut = arg;

	if (!slot_stream_is_open(&slot_stream))
		slot_stream_open(&slot_stream, authlog_seal_slot_name, options);
	cut->messages = slot_stream_read(&slot_stream, cut->target, authlog_seal_max_events,
									 cut_add_from_stream, cut);
	cut->read_upto = slot_stream_decoded_upto(&slot_stream);
	write_seals(cut);
	if (cut->anchors != NIL)
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

	plan = SPI_prepare(psprintf("SELECT l.tenant_id, l.log_id, l.digest, l.recorded_at"
								" FROM (SELECT e.tenant_id, e.log_id, authlog.event_digest(e) AS digest, e.recorded_at"
								"       FROM authlog.auth_logs e%s%s) l"
								" WHERE NOT EXISTS (SELECT 1 FROM authlog.seal_members m"
								"                   WHERE m.tenant_id OPERATOR(pg_catalog.=) l.tenant_id"
								"                     AND m.log_id OPERATOR(pg_catalog.=) l.log_id)"
								" ORDER BY l.tenant_id, l.recorded_at, l.log_id",
	/* (1.1) the access log, once the schema has it */
								change_table_installed(CHANGE_TABLE_ACCESS_LOG)
								? " UNION ALL SELECT a.tenant_id, a.access_id, authlog.access_digest(a), a.accessed_at"
								" FROM authlog.access_log a" : "",
	/* (1.1) and the records of retention and holds */
								change_table_installed(CHANGE_TABLE_RECORDS_LOG)
								? " UNION ALL SELECT r.tenant_id, r.record_id, authlog.records_digest(r), r.recorded_at"
								" FROM authlog.records_log r" : ""), 0, NULL);
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
	if (cut->anchors != NIL)
		mirror_note_write();
	worker_clear_pending(authlog_seal_slot_name);
	return true;
}

/* NOTIFY authlog_seal for each anchor of a committed cut, in a transaction of its own */
static bool
step_notify_anchors(void *arg)
{
	Cut		   *cut = arg;
	Oid			types[1] = {TEXTOID};
	ListCell   *lc;

	if (authlog_seal_test_fail_anchor)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many notifications in the NOTIFY queue"),
				 errdetail("Injected by authlog.seal_test_fail_anchor.")));
	foreach(lc, cut->anchors)
	{
		CutAnchor  *anchor = lfirst(lc);
		Datum		payload = CStringGetTextDatum(psprintf("%s %d", anchor->root_hex, anchor->size));

		if (SPI_execute_with_args("SELECT pg_catalog.pg_notify('authlog_seal', $1)",
								  1, types, &payload, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "authlog sealer: could not send NOTIFY authlog_seal");
	}
	return true;
}

/*
 * The anchors outside the tables, once the seals committed: one LOG line
 * per cut, then NOTIFY authlog_seal in a transaction of its own.  LISTEN
 * checks no privilege, so neither names a tenant.  A NOTIFY that fails
 * (the notification queue is full while a listener idles in a transaction)
 * is logged and counted: the seals are committed and the log line is out,
 * and a cut must never fail for a listener.
 */
static void
announce_cut(Cut *cut)
{
	ListCell   *lc;
	int			seals = 0;
	int64		events = 0;
	uint64		failed = 0;

	if (cut->anchors == NIL)
		return;
	foreach(lc, cut->anchors)
	{
		CutAnchor  *anchor = lfirst(lc);

		ereport(LOG,
				(errmsg("authlog anchor %s %d", anchor->root_hex, anchor->size),
				 errdetail("The root of the RFC 6962 Merkle tree over the digests of the %d seals of a cut, covering " INT64_FORMAT " events; each seal keeps its audit path.",
						   anchor->size, anchor->events)));
		seals += anchor->size;
		events += anchor->events;
	}
	if (!run_step(step_notify_anchors, cut))
	{
		ereport(WARNING,
				(errmsg("authlog sealer: could not send NOTIFY authlog_seal for the anchors of a cut"),
				 errdetail("%s", sealer_worker.step_error),
				 errhint("The seals are committed and their anchors are in the server log. A listener idle in a transaction can fill the notification queue: see pg_notification_queue_usage().")));
		failed = list_length(cut->anchors);
	}
	SpinLockAcquire(&authlog_sealer_shared->worker.mutex);
	authlog_sealer_shared->seals_written += seals;
	authlog_sealer_shared->events_sealed += events;
	authlog_sealer_shared->anchors_failed += failed;
	SpinLockRelease(&authlog_sealer_shared->worker.mutex);
}


/* ---------- rounds ---------- */

/*
 * Make sure the slot exists; when it had to be created, seal what it will
 * never decode.  Returns 0 when cuts can start, otherwise the wait.
 */
static long
prepare_slot(void)
{
	WorkerSlot	slot_state = {.name = authlog_seal_slot_name};
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

	/*
	 * Did anyone else consume the slot since the sealer last confirmed it?
	 * Only while the stream was closed (a pause, a failure): an open one
	 * holds the slot, and nobody else can read it.
	 */
	if (!slot_stream_is_open(&slot_stream))
	{
		SlotPosition position;

		if (!run_step(step_read_confirmed, &position))
			return report_failure("could not read the sealer's slot");
		if (position.found && !XLogRecPtrIsInvalid(slot_confirmed_by_sealer) &&
			position.confirmed > slot_confirmed_by_sealer)
		{
			WorkerSlot	slot = {.name = authlog_seal_slot_name};

			ereport(LOG,
					(errmsg("authlog sealer: slot \"%s\" was consumed by another session, from %X/%X to %X/%X; sealing the events no seal lists from a table scan",
							authlog_seal_slot_name, LSN_FORMAT_ARGS(slot_confirmed_by_sealer),
							LSN_FORMAT_ARGS(position.confirmed)),
					 errhint("Only the sealer may read slot \"%s\": revoke REPLICATION from roles that do not need it.",
							 authlog_seal_slot_name)));
			slot_confirmed_by_sealer = InvalidXLogRecPtr;
			slot_stream_close(&slot_stream);
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
	 * A stream opened again (after a failure or a restart) decodes from the
	 * slot's restart point, which moves only to where decoding saw a
	 * running-transactions record (the background writer logs one every
	 * 15 s).  One logged here, before the cut, lets the confirmation after
	 * it bring the restart point close.
	 */
	if (XLogStandbyInfoActive())
		(void) LogStandbySnapshot();

	/* asynchronous commits included: decoding reads flushed WAL only */
	(void) worker_flush_inserted_wal();
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

		/*
		 * A short chunk reached the target: nothing committed before where
		 * the stream stopped is left.  A full one stopped after its last
		 * transaction.
		 */
		done = cut.messages < authlog_seal_max_events;
		advance_to = done ? cut.read_upto : cut.chunk_end;
		slot_stream_confirm(&slot_stream, advance_to);
		slot_confirmed_by_sealer = Max(slot_confirmed_by_sealer, advance_to);
		if (done)
			break;
	}

	members_may_be_sealed = false;
	SpinLockAcquire(&authlog_sealer_shared->worker.mutex);
	authlog_sealer_shared->sealed_lsn = Max(authlog_sealer_shared->sealed_lsn, target);
	authlog_sealer_shared->last_cut_at = GetCurrentTimestamp();
	SpinLockRelease(&authlog_sealer_shared->worker.mutex);
	worker_report_recovered(&sealer_worker, "sealing again");
	worker_set_state(&sealer_worker, SEALER_SEALING);
	return 0;
}

/* the longest the first scheduled verification waits after a start */
#define SEALER_FIRST_VERIFY_MS (10 * 60 * 1000)

/*
 * The scheduled full verification runs one tenant at a time, between cuts:
 * verifying every seal of a large history takes minutes (bench: 14,000
 * events a second), and the cuts must not wait for all of it.  The pass
 * lists the tenants once, then verifies the next one whenever no cut is
 * due; its result is published when the last is done.
 */
typedef struct VerifyPass
{
	bool		active;
	bool		unavailable;	/* a database still at 1.0: nothing to run */
	List	   *tenants;		/* text *, in verify_context */
	int			next;
	uint64		seals;
	uint64		findings;
} VerifyPass;

static VerifyPass verify_pass;
static MemoryContext verify_context = NULL;

/* The tenants with seals or events (a loose scan of auth_logs_tenant_time). */
static bool
step_verify_list(void *arg)
{
	VerifyPass *pass = arg;
	bool		isnull;
	uint64		i;

	if (SPI_execute("SELECT pg_catalog.to_regprocedure('authlog.verify_tenant_seals(text, timestamptz)') IS NOT NULL",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog sealer: could not look up verify_tenant_seals");
	pass->unavailable = !DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (pass->unavailable)
		return true;
	if (SPI_execute("WITH RECURSIVE t(tenant_id) AS ("
					" SELECT pg_catalog.min(l.tenant_id) FROM authlog.auth_logs l"
					" UNION ALL"
					" SELECT (SELECT pg_catalog.min(l.tenant_id) FROM authlog.auth_logs l"
					"         WHERE l.tenant_id OPERATOR(pg_catalog.>) t.tenant_id)"
					" FROM t WHERE t.tenant_id IS NOT NULL)"
					" SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL"
					" UNION SELECT s.tenant_id FROM authlog.seals s",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog sealer: could not list the tenants to verify");
	for (i = 0; i < SPI_processed; i++)
	{
		Datum		tenant = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(verify_context);

		pass->tenants = lappend(pass->tenants, DatumGetTextPCopy(tenant));
		MemoryContextSwitchTo(old);
	}
	return true;
}

/* verify_seals of the pass's next tenant, as the verifier itself (not as a reader) */
static bool
step_verify_tenant(void *arg)
{
	VerifyPass *pass = arg;
	Oid			types[1] = {TEXTOID};
	Datum		tenant = PointerGetDatum(list_nth(pass->tenants, pass->next));
	bool		isnull;

	if (SPI_execute_with_args("SELECT pg_catalog.count(DISTINCT v.seal_no),"
							  " pg_catalog.count(*) FILTER (WHERE v.status OPERATOR(pg_catalog.<>) 'ok')"
							  " FROM authlog.verify_tenant_seals($1, NULL) v",
							  1, types, &tenant, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog sealer: could not verify a tenant's seals");
	pass->seals += (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pass->findings += (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/* A finished pass's result, for sealer_status() and the server log */
static void
verify_publish(const VerifyPass *pass)
{
	if (pass->findings > 0)
		ereport(WARNING,
				(errmsg("authlog sealer: the scheduled verification found " UINT64_FORMAT " problems in " UINT64_FORMAT " seals",
						pass->findings, pass->seals),
				 errhint("SELECT * FROM authlog.verify_seals() WHERE status <> 'ok' lists them.")));
	SpinLockAcquire(&authlog_sealer_shared->worker.mutex);
	authlog_sealer_shared->verified_at = GetCurrentTimestamp();
	authlog_sealer_shared->verified_seals = pass->seals;
	authlog_sealer_shared->verify_findings = pass->findings;
	SpinLockRelease(&authlog_sealer_shared->worker.mutex);
}

/*
 * One step of the scheduled verification: start a pass (list the tenants)
 * or verify its next tenant; at the last, publish the result.  Returns
 * false if a step failed (reported; the pass starts again next time).
 */
static bool
verify_step(bool *finished)
{
	VerifyPass *pass = &verify_pass;

	*finished = false;
	if (!pass->active)
	{
		if (verify_context == NULL)
			verify_context = AllocSetContextCreate(TopMemoryContext, "authlog sealer verification",
												   ALLOCSET_SMALL_SIZES);
		MemoryContextReset(verify_context);
		memset(pass, 0, sizeof(VerifyPass));
		if (!run_step(step_verify_list, pass))
		{
			(void) report_failure("could not start the scheduled verification");
			return false;
		}
		pass->active = !pass->unavailable && pass->tenants != NIL;
		*finished = !pass->active;
		if (*finished && !pass->unavailable)
			verify_publish(pass);	/* nothing to verify yet: 0 seals, 0 findings */
		return true;
	}
	if (!run_step(step_verify_tenant, pass))
	{
		pass->active = false;
		(void) report_failure("could not run the scheduled verification");
		return false;
	}
	if (++pass->next < list_length(pass->tenants))
		return true;

	pass->active = false;
	*finished = true;
	verify_publish(pass);
	return true;
}

void
authlog_sealer_main(Datum main_arg)
{
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz verified = 0;	/* the last scheduled verification's end */
	TimestampTz next_cut = 0;
	TimestampTz retry_at = 0;

	sealer_worker.shared = &authlog_sealer_shared->worker;
	worker_attach(&sealer_worker, SEALER_STARTING);
	cut_context = AllocSetContextCreate(TopMemoryContext, "authlog sealer cut",
										ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now;
		TimestampTz wake_at;
		bool		requested;

		worker_serve_interrupts();

		SpinLockAcquire(&authlog_sealer_shared->worker.mutex);
		requested = authlog_sealer_shared->requested_lsn > authlog_sealer_shared->sealed_lsn;
		SpinLockRelease(&authlog_sealer_shared->worker.mutex);

		now = GetCurrentTimestamp();
		if (sealer_worker.backoff_ms > 0 && now < retry_at)
			wake_at = retry_at;
		else if (authlog_seal_interval_s == 0 && !requested)
		{
			/* paused: the slot keeps the backlog until sealing resumes, and is free meanwhile */
			slot_stream_close(&slot_stream);
			worker_set_state(&sealer_worker, SEALER_PAUSED);
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
		else if (authlog_seal_verify_interval_s > 0 &&
				 (verify_pass.active ||
				  now >= (verified != 0
						  ? TimestampTzPlusMilliseconds(verified, (int64) authlog_seal_verify_interval_s * 1000)
						  : TimestampTzPlusMilliseconds(started, Min((int64) authlog_seal_verify_interval_s * 1000,
																	 SEALER_FIRST_VERIFY_MS)))))
		{
			/*
			 * No cut due: a step of the scheduled verification, due one
			 * interval (as set now) after the last; the first one interval
			 * after the start, but at most SEALER_FIRST_VERIFY_MS later,
			 * so a server restarted daily still verifies daily.
			 */
			bool		finished;

			if (!verify_step(&finished))
				wake_at = retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																 Max(sealer_worker.backoff_ms, 1000));
			else
			{
				if (finished)
					verified = GetCurrentTimestamp();
				continue;
			}
		}
		else
			wake_at = next_cut;

		worker_wait(TimestampDifferenceMilliseconds(now, wake_at));
	}
}
