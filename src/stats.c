/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Real-time event counters for the security dashboard: committed events
 *	  per tenant, organisation and event type, in shared memory.
 *
 *	  The write path notes each event it inserts in a backend-local table;
 *	  the counts reach shared memory when the transaction commits and are
 *	  dropped when it (or the subtransaction that wrote them) aborts, so a
 *	  rolled-back login is never counted and a retry, which inserts nothing,
 *	  is not either.  Reading the counters scans no table.  Needs
 *	  shared_preload_libraries; without it the write path counts nothing and
 *	  the view says why.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "stats.h"
#include "worker.h"

PG_FUNCTION_INFO_V1(authlog_stat_events);
PG_FUNCTION_INFO_V1(authlog_stat_outcomes);
PG_FUNCTION_INFO_V1(authlog_stat_reset);

/* An id of up to AUTHLOG_MAX_ID_LENGTH characters, in bytes, with its NUL */
#define STAT_ID_BYTES (AUTHLOG_MAX_ID_LENGTH * MAX_MULTIBYTE_CHAR_LEN + 1)

/* the last minute at one-second resolution, the last hour at one-minute */
#define STAT_SLOTS 60

/*
 * What is counted: the event types (authlog.stat_events), then the outcomes
 * of StatOutcome, in its order (authlog.stat_outcomes, 1.1).
 */
static const char *const stat_series[] = {
	"login_failed", "account_locked", "login_success", "lockout_reset", "account_moved",
	"allowed", "failed", "locked", "refused_while_locked", "helpdesk_unlock",
	"success_after_failures"
};
#define STAT_SERIES ((int) lengthof(stat_series))
#define STAT_EVENT_TYPES 5
#define STAT_OUTCOMES (STAT_SERIES - STAT_EVENT_TYPES)

StaticAssertDecl(STAT_OUTCOMES == STAT_OUTCOME_SUCCESS_AFTER_FAILURES + 1,
				 "stat_series lists every StatOutcome");

typedef struct StatKey
{
	char		tenant_id[STAT_ID_BYTES];
	char		organisation_id[STAT_ID_BYTES];
} StatKey;

typedef struct StatCounter
{
	uint64		events;
	uint32		per_second[STAT_SLOTS];
	uint32		per_minute[STAT_SLOTS];
} StatCounter;

typedef struct StatEntry
{
	StatKey		key;
	int64		last_second;	/* the newest second the rings hold */
	StatCounter counters[STAT_SERIES];
} StatEntry;

typedef struct StatShared
{
	LWLock	   *lock;
	TimestampTz stats_reset;
	uint64		overflow[STAT_SERIES];	/* counts of keys that found no room */
} StatShared;

/* Counts a transaction has not committed yet, per key and subtransaction level */
typedef struct PendingKey
{
	StatKey		key;
	int			nest_level;
} PendingKey;

typedef struct PendingEntry
{
	PendingKey	key;
	uint32		counts[STAT_SERIES];
} PendingEntry;

int			authlog_stat_max_entries = 1000;
int			authlog_success_after_failures_min = 3;

static StatShared *stat_shared = NULL;
static HTAB *stat_table = NULL;
static HTAB *pending = NULL;	/* lives in TopTransactionContext */

/* What the counters need beyond StatShared (worker.c requests that) */
static void
stats_shmem_request(void)
{
	RequestAddinShmemSpace(hash_estimate_size(authlog_stat_max_entries, sizeof(StatEntry)));
	RequestNamedLWLockTranche("authlog stats", 1);
}

/*
 * Keys are hashed, compared and copied up to their terminating NULs: a key
 * holds room for 2 kB of ids, and ids are a few bytes, so the write path
 * neither clears nor hashes the rest.
 */
static uint32
stat_key_hash(const void *key, Size keysize)
{
	const StatKey *k = key;

	return hash_combine(hash_bytes((const unsigned char *) k->tenant_id, strlen(k->tenant_id)),
						hash_bytes((const unsigned char *) k->organisation_id,
								   strlen(k->organisation_id)));
}

static int
stat_key_match(const void *a, const void *b, Size keysize)
{
	const StatKey *x = a;
	const StatKey *y = b;

	return strcmp(x->tenant_id, y->tenant_id) != 0 ||
		strcmp(x->organisation_id, y->organisation_id) != 0;
}

static void *
stat_key_copy(void *dest, const void *src, Size keysize)
{
	StatKey    *d = dest;
	const StatKey *s = src;

	strcpy(d->tenant_id, s->tenant_id);
	strcpy(d->organisation_id, s->organisation_id);
	return dest;
}

static uint32
pending_key_hash(const void *key, Size keysize)
{
	const PendingKey *k = key;

	return hash_combine(stat_key_hash(&k->key, keysize), (uint32) k->nest_level);
}

static int
pending_key_match(const void *a, const void *b, Size keysize)
{
	const PendingKey *x = a;
	const PendingKey *y = b;

	return x->nest_level != y->nest_level || stat_key_match(&x->key, &y->key, keysize);
}

static void *
pending_key_copy(void *dest, const void *src, Size keysize)
{
	PendingKey *d = dest;
	const PendingKey *s = src;

	stat_key_copy(&d->key, &s->key, keysize);
	d->nest_level = s->nest_level;
	return dest;
}

/* Under AddinShmemInitLock, with StatShared found or zeroed (worker.c) */
static void
stats_shmem_startup(void *shared, bool found)
{
	HASHCTL		info;

	if (!found)
	{
		stat_shared->lock = &(GetNamedLWLockTranche("authlog stats"))->lock;
		stat_shared->stats_reset = GetCurrentTimestamp();
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatKey);
	info.entrysize = sizeof(StatEntry);
	info.hash = stat_key_hash;
	info.match = stat_key_match;
	info.keycopy = stat_key_copy;
	stat_table = ShmemInitHash("authlog stats entries",
							   authlog_stat_max_entries, authlog_stat_max_entries,
							   &info, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_KEYCOPY);
}

static int
stat_event_type_index(const char *event_type)
{
	int			i;

	for (i = 0; i < STAT_EVENT_TYPES; i++)
		if (strcmp(stat_series[i], event_type) == 0)
			return i;
	elog(ERROR, "authlog: unknown event type \"%s\"", event_type);
	return -1;					/* keep the compiler quiet */
}

static void
stat_key_fill(StatKey *key, text *tenant_id, text *organisation_id)
{
	int			len;

	len = Min(VARSIZE_ANY_EXHDR(tenant_id), STAT_ID_BYTES - 1);
	memcpy(key->tenant_id, VARDATA_ANY(tenant_id), len);
	key->tenant_id[len] = '\0';
	len = Min(VARSIZE_ANY_EXHDR(organisation_id), STAT_ID_BYTES - 1);
	memcpy(key->organisation_id, VARDATA_ANY(organisation_id), len);
	key->organisation_id[len] = '\0';
}

/* Count one more of each series given for the key, if the transaction commits. */
static void
stats_note(text *tenant_id, text *organisation_id, const int *series, int nseries)
{
	PendingKey	key;
	PendingEntry *entry;
	bool		found;

	if (pending == NULL)
	{
		HASHCTL		info;

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(PendingKey);
		info.entrysize = sizeof(PendingEntry);
		info.hash = pending_key_hash;
		info.match = pending_key_match;
		info.keycopy = pending_key_copy;
		info.hcxt = TopTransactionContext;
		pending = hash_create("authlog pending stats", 16, &info,
							  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_KEYCOPY |
							  HASH_CONTEXT);
	}
	stat_key_fill(&key.key, tenant_id, organisation_id);
	key.nest_level = GetCurrentTransactionNestLevel();
	entry = hash_search(pending, &key, HASH_ENTER, &found);
	if (!found)
		memset(entry->counts, 0, sizeof(entry->counts));
	while (nseries-- > 0)
		entry->counts[series[nseries]]++;
}

/*
 * Note one inserted event, to be counted if the transaction commits.  Called
 * by the write path; does nothing unless authlog is preloaded.
 */
void
stats_note_event(text *tenant_id, text *organisation_id, const char *event_type)
{
	int			series;

	if (stat_shared == NULL)
		return;
	series = stat_event_type_index(event_type);
	stats_note(tenant_id, organisation_id, &series, 1);
}

/*
 * Note the outcomes of a call that wrote its event (never of a retry), in
 * one lookup of the pending table: the login path notes two or three.
 */
void
stats_note_outcomes(text *tenant_id, text *organisation_id, const StatOutcome *outcomes,
					int noutcomes)
{
	int			series[STAT_OUTCOMES];
	int			i;

	if (stat_shared == NULL)
		return;
	Assert(noutcomes <= STAT_OUTCOMES);
	for (i = 0; i < noutcomes; i++)
		series[i] = STAT_EVENT_TYPES + (int) outcomes[i];
	stats_note(tenant_id, organisation_id, series, noutcomes);
}

/* Move the entry's rings forward to `second`, zeroing the slots they pass. */
static void
stat_entry_advance(StatEntry *entry, int64 second)
{
	int64		old_minute = entry->last_second / SECS_PER_MINUTE;
	int64		new_minute = second / SECS_PER_MINUTE;
	int64		s;
	int			t;

	if (second <= entry->last_second)
		return;
	for (s = entry->last_second + 1; s <= second && s <= entry->last_second + STAT_SLOTS; s++)
		for (t = 0; t < STAT_SERIES; t++)
			entry->counters[t].per_second[s % STAT_SLOTS] = 0;
	for (s = old_minute + 1; s <= new_minute && s <= old_minute + STAT_SLOTS; s++)
		for (t = 0; t < STAT_SERIES; t++)
			entry->counters[t].per_minute[s % STAT_SLOTS] = 0;
	entry->last_second = second;
}

static int64
stat_now_second(void)
{
	return (int64) (GetCurrentTimestamp() / USECS_PER_SEC);
}

/*
 * Add the committed transaction's counts.  Runs inside commit: nothing here
 * may raise an error, so a key without room counts as overflow.
 */
static void
stats_publish_pending(void)
{
	HASH_SEQ_STATUS seq;
	PendingEntry *p;
	int64		second = stat_now_second();

	LWLockAcquire(stat_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		StatEntry  *entry;
		bool		found;
		int			t;

		/* a shared hash table grows past its size: keep it to the setting */
		entry = hash_search(stat_table, &p->key.key, HASH_FIND, &found);
		if (entry == NULL && hash_get_num_entries(stat_table) < authlog_stat_max_entries)
			entry = hash_search(stat_table, &p->key.key, HASH_ENTER_NULL, &found);
		if (entry == NULL)
		{
			for (t = 0; t < STAT_SERIES; t++)
				stat_shared->overflow[t] += p->counts[t];
			continue;
		}
		if (!found)
		{
			memset(entry->counters, 0, sizeof(entry->counters));
			entry->last_second = second;
		}
		stat_entry_advance(entry, second);
		for (t = 0; t < STAT_SERIES; t++)
		{
			/* a commit stamped just before a newer one still lands in its slot */
			int64		s = Min(second, entry->last_second);

			entry->counters[t].events += p->counts[t];
			if (s > entry->last_second - STAT_SLOTS)
				entry->counters[t].per_second[s % STAT_SLOTS] += p->counts[t];
			entry->counters[t].per_minute[(s / SECS_PER_MINUTE) % STAT_SLOTS] += p->counts[t];
		}
	}
	LWLockRelease(stat_shared->lock);
}

static void
stats_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (pending != NULL)
				stats_publish_pending();
			pending = NULL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:

			/*
			 * A prepared transaction may still roll back, and its commit
			 * runs in another backend: its events are not counted.
			 */
			pending = NULL;
			break;
		default:
			break;
	}
}

/* Counts of an aborted subtransaction go; those of a committed one move up. */
static void
stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	HASH_SEQ_STATUS seq;
	PendingEntry *p;
	List	   *moved = NIL;
	ListCell   *lc;

	if (pending == NULL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;

	hash_seq_init(&seq, pending);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		if (p->key.nest_level < level)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
		{
			PendingEntry *copy = MemoryContextAlloc(TopTransactionContext, sizeof(PendingEntry));

			memcpy(copy, p, sizeof(PendingEntry));
			copy->key.nest_level = level - 1;
			moved = lappend(moved, copy);
		}
		(void) hash_search(pending, &p->key, HASH_REMOVE, NULL);
	}
	foreach(lc, moved)
	{
		PendingEntry *copy = lfirst(lc);
		PendingEntry *parent;
		bool		found;
		int			t;

		parent = hash_search(pending, &copy->key, HASH_ENTER, &found);
		if (!found)
			memset(parent->counts, 0, sizeof(parent->counts));
		for (t = 0; t < STAT_SERIES; t++)
			parent->counts[t] += copy->counts[t];
	}
}

/* From _PG_init: the counters need shared memory, so only when preloaded. */
void
stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	/*
	 * Room for the event counters of this many tenant/organisation pairs;
	 * events of pairs beyond it are counted together, not lost.
	 */
	DefineCustomIntVariable("authlog.stat_max_entries",
							"Tenant and organisation pairs whose events authlog.stat_events counts separately.",
							"Each takes about 8 kB of shared memory. Events of pairs beyond this are counted in a row with NULL tenant_id that members of pg_read_all_stats see. Takes effect at server start.",
							&authlog_stat_max_entries,
							1000, 10, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("authlog.success_after_failures_min",
							"Failed attempts since an account's last success that make its next success count in authlog.stat_outcomes as success_after_failures.",
							"A success right after a lock expired counts whatever this is. The investigation function success_after_failures takes its own threshold.",
							&authlog_success_after_failures_min,
							3, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	worker_shared_add("authlog stats", sizeof(StatShared), (void **) &stat_shared,
					  stats_shmem_request, stats_shmem_startup);
	RegisterXactCallback(stats_xact_callback, NULL);
	RegisterSubXactCallback(stats_subxact_callback, NULL);
}

static void
stats_require_shared_memory(void)
{
	if (stat_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("authlog event statistics are not available"),
				 errdetail("The counters live in shared memory, which authlog gets only when the server preloads it."),
				 errhint("Add authlog to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* A tenant and organisation the caller may read, from authlog.reader_scope */
typedef struct ReadableScope
{
	char	   *tenant_id;
	char	   *organisation_id;	/* NULL: every organisation */
} ReadableScope;

static List *
stats_readable_scopes(void)
{
	List	   *scopes = NIL;
	MemoryContext caller = CurrentMemoryContext;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	/* runs as the caller: reader_scope shows the caller's own grants */
	if (SPI_execute("SELECT tenant_id, organisation_id FROM authlog.reader_scope",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read authlog.reader_scope");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(caller);
		ReadableScope *scope = palloc(sizeof(ReadableScope));

		scope->tenant_id = SPI_getvalue(tuple, desc, 1);
		scope->organisation_id = SPI_getvalue(tuple, desc, 2);
		scopes = lappend(scopes, scope);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return scopes;
}

static bool
stats_key_readable(const StatKey *key, List *scopes)
{
	ListCell   *lc;

	foreach(lc, scopes)
	{
		ReadableScope *scope = lfirst(lc);

		if (strcmp(scope->tenant_id, key->tenant_id) == 0 &&
			(scope->organisation_id == NULL ||
			 strcmp(scope->organisation_id, key->organisation_id) == 0))
			return true;
	}
	return false;
}

/* Events counted in the last STAT_SLOTS slots up to `now`, of a ring ending at `last` */
static uint64
stat_ring_sum(const uint32 *ring, int64 last, int64 now)
{
	uint64		sum = 0;
	int64		s;

	for (s = last; s > last - STAT_SLOTS; s--)
		if (s <= now && s > now - STAT_SLOTS)
			sum += ring[s % STAT_SLOTS];
	return sum;
}

static void
stats_emit_row(Tuplestorestate *store, TupleDesc desc, const char *tenant_id,
			   const char *organisation_id, int series, uint64 count,
			   uint64 last_minute, uint64 last_hour, TimestampTz stats_reset)
{
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	if (tenant_id)
		values[0] = CStringGetTextDatum(tenant_id);
	else
		nulls[0] = true;
	if (organisation_id)
		values[1] = CStringGetTextDatum(organisation_id);
	else
		nulls[1] = true;
	values[2] = CStringGetTextDatum(stat_series[series]);
	values[3] = Int64GetDatum((int64) count);
	values[4] = Int64GetDatum((int64) last_minute);
	values[5] = Int64GetDatum((int64) last_hour);
	values[6] = TimestampTzGetDatum(stats_reset);
	tuplestore_putvalues(store, desc, values, nulls);
}

/*
 * The counters of series [first, first + count) of every key the caller may
 * read.  Members of pg_read_all_stats see every key, and a row with NULL
 * tenant and organisation for the counts of keys that found no room in
 * shared memory.
 */
static void
stats_emit_series(FunctionCallInfo fcinfo, int first, int count)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	List	   *scopes = NIL;
	HASH_SEQ_STATUS seq;
	StatEntry  *entry;
	int64		now_second;
	TimestampTz stats_reset;
	uint64		overflow[STAT_SERIES];
	int			t;

	stats_require_shared_memory();
	InitMaterializedSRF(fcinfo, 0);
	if (!read_all)
		scopes = stats_readable_scopes();

	now_second = stat_now_second();
	LWLockAcquire(stat_shared->lock, LW_SHARED);
	stats_reset = stat_shared->stats_reset;
	memcpy(overflow, stat_shared->overflow, sizeof(overflow));
	hash_seq_init(&seq, stat_table);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (!read_all && !stats_key_readable(&entry->key, scopes))
			continue;
		for (t = first; t < first + count; t++)
		{
			const StatCounter *c = &entry->counters[t];

			if (c->events == 0)
				continue;
			stats_emit_row(rsinfo->setResult, rsinfo->setDesc,
						   entry->key.tenant_id, entry->key.organisation_id, t,
						   c->events,
						   stat_ring_sum(c->per_second, entry->last_second, now_second),
						   stat_ring_sum(c->per_minute, entry->last_second / SECS_PER_MINUTE,
										 now_second / SECS_PER_MINUTE),
						   stats_reset);
		}
	}
	LWLockRelease(stat_shared->lock);

	if (read_all)
		for (t = first; t < first + count; t++)
			if (overflow[t] > 0)
				stats_emit_row(rsinfo->setResult, rsinfo->setDesc, NULL, NULL, t,
							   overflow[t], 0, 0, stats_reset);
}

Datum
authlog_stat_events(PG_FUNCTION_ARGS)
{
	stats_emit_series(fcinfo, 0, STAT_EVENT_TYPES);
	return (Datum) 0;
}

/* 1.1: what the write path decided and did, beside the events it wrote */
Datum
authlog_stat_outcomes(PG_FUNCTION_ARGS)
{
	stats_emit_series(fcinfo, STAT_EVENT_TYPES, STAT_OUTCOMES);
	return (Datum) 0;
}

Datum
authlog_stat_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	StatEntry  *entry;

	stats_require_shared_memory();
	LWLockAcquire(stat_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, stat_table);
	while ((entry = hash_seq_search(&seq)) != NULL)
		(void) hash_search(stat_table, &entry->key, HASH_REMOVE, NULL);
	memset(stat_shared->overflow, 0, sizeof(stat_shared->overflow));
	stat_shared->stats_reset = GetCurrentTimestamp();
	LWLockRelease(stat_shared->lock);
	PG_RETURN_VOID();
}
