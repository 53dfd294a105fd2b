/*-------------------------------------------------------------------------
 *
 * seal_sql.c
 *	  SQL functions of the seals that need C: seal_now() and
 *	  sealer_status(), which talk to the sealer through shared memory, and
 *	  verify_store_seals(), which checks the document store's copy of the
 *	  seals and events with a short-lived client.  verify_seals(), the same
 *	  check in PostgreSQL, is SQL (authlog--1.0.sql).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bson_rules.h"
#include "change_message.h"
#include "documents.h"
#include "mongo_sink.h"
#include "sealer.h"

PG_FUNCTION_INFO_V1(authlog_seal_now);
PG_FUNCTION_INFO_V1(authlog_sealer_status);
PG_FUNCTION_INFO_V1(authlog_sealer_worker_status);
PG_FUNCTION_INFO_V1(authlog_verify_store_seals);

static void
require_sealer_shared(void)
{
	worker_require_shared(authlog_sealer_shared, "authlog sealer");
}

static const char *
state_name(int state)
{
	return worker_state_name(sealer_state_names, sealer_nstates, state);
}

/* Under the worker's mutex: a cut requested up to target; every commit before the result is sealed */
static XLogRecPtr
sealed_progress(WorkerShared *worker, XLogRecPtr target)
{
	SealerShared *sealer = (SealerShared *) worker;

	if (sealer->requested_lsn < target)
		sealer->requested_lsn = target;
	return sealer->sealed_lsn;
}

static uint64
seals_written(WorkerShared *worker)
{
	return ((SealerShared *) worker)->seals_written;
}

/*
 * authlog.seal_now(timeout): cut now, and wait until everything committed
 * before the call is sealed; returns the seals written meanwhile.
 */
Datum
authlog_seal_now(PG_FUNCTION_ARGS)
{
	WorkerWait	wait = {
		.what = "the authlog sealer did not seal",
		.worker_noun = "sealer",
		.status_hint = "See authlog.sealer_status().",
		.state_names = sealer_state_names,
		.nstates = sealer_nstates,
		.progress = sealed_progress,
		.count = seals_written,
	};
	TimestampTz deadline;

	require_sealer_shared();
	if (strcmp(get_database_name(MyDatabaseId), authlog_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the authlog sealer seals database \"%s\", not this one", authlog_database),
				 errhint("Call seal_now() in the database named by authlog.database.")));
	deadline = worker_wait_deadline(PG_GETARG_INTERVAL_P(0));
	PG_RETURN_INT64((int64) worker_wait_for(&authlog_sealer_shared->worker, &wait,
											worker_flush_inserted_wal(), deadline));
}

/*
 * What the sealer reports through shared memory: 1.0's sealer_status()
 * (nine columns), or 1.1's sealer_worker_status(), which adds
 * anchors_failed and the seal health (links checked and broken, the last
 * scheduled verification), and which sealer_status() joins with what
 * holds the slot back.
 */
#define SEALER_STATUS_1_0_COLUMNS 9
#define SEALER_STATUS_COLUMNS 15

static Datum
sealer_status_tuple(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;
	Datum		values[SEALER_STATUS_COLUMNS];
	bool		nulls[SEALER_STATUS_COLUMNS];
	SealerShared copy;

	require_sealer_shared();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "authlog: sealer_status must return a composite type");
	if (desc->natts != SEALER_STATUS_1_0_COLUMNS && desc->natts != SEALER_STATUS_COLUMNS)
		elog(ERROR, "authlog: sealer_status must return %d or %d columns",
			 SEALER_STATUS_1_0_COLUMNS, SEALER_STATUS_COLUMNS);
	desc = BlessTupleDesc(desc);
	worker_copy_shared(&authlog_sealer_shared->worker, &copy, sizeof(SealerShared));

	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum(authlog_seal_slot_name);
	values[1] = CStringGetTextDatum(state_name(copy.worker.state));
	values[2] = Int32GetDatum(copy.worker.pid);
	nulls[2] = copy.worker.pid == 0;
	values[3] = LSNGetDatum(copy.sealed_lsn);
	nulls[3] = copy.sealed_lsn == InvalidXLogRecPtr;
	values[4] = TimestampTzGetDatum(copy.last_cut_at);
	nulls[4] = copy.last_cut_at == 0;
	values[5] = Int64GetDatum((int64) copy.seals_written);
	values[6] = Int64GetDatum((int64) copy.events_sealed);
	values[7] = CStringGetTextDatum(copy.worker.last_error);
	nulls[7] = copy.worker.last_error[0] == '\0';
	values[8] = TimestampTzGetDatum(copy.worker.last_error_at);
	nulls[8] = copy.worker.last_error_at == 0;
	if (desc->natts == SEALER_STATUS_COLUMNS)
	{
		values[9] = Int64GetDatum((int64) copy.anchors_failed);
		values[10] = Int64GetDatum((int64) copy.links_checked);
		values[11] = Int64GetDatum((int64) copy.links_broken);
		values[12] = TimestampTzGetDatum(copy.verified_at);
		nulls[12] = copy.verified_at == 0;
		values[13] = Int64GetDatum((int64) copy.verified_seals);
		nulls[13] = copy.verified_at == 0;
		values[14] = Int64GetDatum((int64) copy.verify_findings);
		nulls[14] = copy.verified_at == 0;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

Datum
authlog_sealer_status(PG_FUNCTION_ARGS)
{
	return sealer_status_tuple(fcinfo);
}

Datum
authlog_sealer_worker_status(PG_FUNCTION_ARGS)
{
	return sealer_status_tuple(fcinfo);
}


/* ---------- verify_store_seals ---------- */

/* A seal document of the store, read back */
typedef struct StoreSeal
{
	const bson_t *document;
	BsonKey		id;				/* its _id, made of tenant_id and seal_no */
	const char *tenant_id;		/* as text, for reports */
	int			tenant_len;
	SealContents contents;
	const uint8 *digest;
	uint32		digest_len;
	const char *malformed;		/* why it cannot be read, or NULL */
	bool		has_anchor;		/* 1.1: anchor_root, index, size and path */
	const uint8 *anchor_root;
	uint32		anchor_root_len;
	int64		anchor_index;
	int64		anchor_size;
	const uint8 *anchor_path;
	uint32		anchor_path_len;
} StoreSeal;

typedef struct StoreVerify
{
	ReturnSetInfo *rsinfo;
	bool		has_since;
	TimestampTz since;
	int64		skew_us;
} StoreVerify;

static void
report_finding(StoreVerify *verify, const char *tenant, int tenant_len, const StoreSeal *seal,
			   const char *status, const uint8 *log_id, const char *detail)
{
	Datum		values[8];
	bool		nulls[8];

	memset(nulls, true, sizeof(nulls));
	if (tenant)
	{
		values[0] = PointerGetDatum(cstring_to_text_with_len(tenant, tenant_len));
		nulls[0] = false;
	}
	if (seal && !seal->malformed)
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id->data, seal->contents.seal_id, UUID_LEN);
		values[2] = UUIDPGetDatum(id);
		values[3] = TimestampTzGetDatum(seal->contents.sealed_at);
		values[4] = Int32GetDatum(seal->contents.event_count);
		nulls[2] = nulls[3] = nulls[4] = false;
	}
	if (seal)
	{
		values[1] = Int64GetDatum(seal->contents.seal_no);
		nulls[1] = false;
	}
	values[5] = CStringGetTextDatum(status);
	nulls[5] = false;
	if (log_id)
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id->data, log_id, UUID_LEN);
		values[6] = UUIDPGetDatum(id);
		nulls[6] = false;
	}
	if (detail)
	{
		values[7] = CStringGetTextDatum(detail);
		nulls[7] = false;
	}
	tuplestore_putvalues(verify->rsinfo->setResult, verify->rsinfo->setDesc, values, nulls);
}

static TimestampTz
from_unix_us(int64 us)
{
	return us - UNIX_TO_POSTGRES_USECS;
}

/* timestamptz_to_str() returns a static buffer: a copy, to use two in one message */
static char *
time_text(TimestampTz ts)
{
	return pstrdup(timestamptz_to_str(ts));
}

static bool
find_int64(const bson_t *doc, const char *field, int64 *value)
{
	bson_iter_t iter;

	if (!bson_iter_init_find(&iter, doc, field) ||
		!(BSON_ITER_HOLDS_INT64(&iter) || BSON_ITER_HOLDS_INT32(&iter)))
		return false;
	*value = bson_iter_as_int64(&iter);
	return true;
}

static bool
find_binary(const bson_t *doc, const char *field, const uint8 **data, uint32 *len)
{
	bson_iter_t iter;
	bson_subtype_t subtype;

	if (!bson_iter_init_find(&iter, doc, field) || !BSON_ITER_HOLDS_BINARY(&iter))
		return false;
	bson_iter_binary(&iter, &subtype, len, data);
	return true;
}

static bool
find_lsn(const bson_t *doc, const char *field, XLogRecPtr *lsn)
{
	bson_iter_t iter;
	unsigned int hi;
	unsigned int lo;
	int			consumed = 0;
	const char *text;

	if (!bson_iter_init_find(&iter, doc, field) || !BSON_ITER_HOLDS_UTF8(&iter))
		return false;
	text = bson_iter_utf8(&iter, NULL);
	if (sscanf(text, "%X/%X%n", &hi, &lo, &consumed) != 2 || text[consumed] != '\0')
		return false;
	*lsn = ((uint64) hi << 32) | lo;
	return true;
}

/* A time field of a seal document, from its exact _us companion */
static bool
find_time(const bson_t *doc, const char *field, TimestampTz *ts)
{
	char		us_field[64];
	int64		us;

	snprintf(us_field, sizeof(us_field), "%s_us", field);
	if (!find_int64(doc, us_field, &us))
		return false;
	*ts = from_unix_us(us);
	return true;
}

/* The members array (UUIDs) of a seal document, as 16 bytes each */
static bool
find_members(const bson_t *doc, SealContents *c)
{
	bson_iter_t iter;
	bson_iter_t member;
	int			room = Max(c->event_count, 0) + 1;
	uint8	   *members = palloc0((Size) room * UUID_LEN);
	int			n = 0;

	if (!bson_iter_init_find(&iter, doc, "members") || !BSON_ITER_HOLDS_ARRAY(&iter) ||
		!bson_iter_recurse(&iter, &member))
		return false;
	while (bson_iter_next(&member))
	{
		bson_subtype_t subtype;
		const uint8_t *data;
		uint32_t	len;

		if (!BSON_ITER_HOLDS_BINARY(&member))
			return false;
		bson_iter_binary(&member, &subtype, &len, &data);
		if (len != UUID_LEN)
			return false;
		if (n == room)
		{
			room *= 2;
			members = repalloc(members, (Size) room * UUID_LEN);
		}
		memcpy(members + (Size) n * UUID_LEN, data, UUID_LEN);
		n++;
	}
	c->members = members;
	c->members_len = n * UUID_LEN;
	return true;
}

/* Read a seal document into *seal; on failure, name the field in malformed. */
static void
read_store_seal(const bson_t *doc, StoreSeal *seal)
{
	SealContents *c = &seal->contents;
	bson_iter_t iter;
	const uint8 *seal_id;
	const uint8 *data;
	uint32		len;
	uint32		digests_len;
	uint32		tenant_len;
	int64		count;

	memset(seal, 0, sizeof(StoreSeal));
	seal->document = doc;
	seal->tenant_id = "";
	if (!store_id_key(doc, "_id", &seal->id) ||
		!bson_iter_init_find(&iter, doc, "tenant_id") || !BSON_ITER_HOLDS_UTF8(&iter))
	{
		seal->malformed = "tenant_id";
		return;
	}
	seal->tenant_id = bson_iter_utf8(&iter, &tenant_len);
	seal->tenant_len = (int) tenant_len;
	c->tenant_id = seal->tenant_id;
	c->tenant_len = seal->tenant_len;

	if (!find_int64(doc, "seal_no", &c->seal_no))
		seal->malformed = "seal_no";
	else if (!find_binary(doc, "seal_id", &seal_id, &len) || len != UUID_LEN)
		seal->malformed = "seal_id";
	else if (!find_time(doc, "sealed_at", &c->sealed_at))
		seal->malformed = "sealed_at";
	else if (!find_lsn(doc, "first_commit_lsn", &c->first_commit_lsn))
		seal->malformed = "first_commit_lsn";
	else if (!find_lsn(doc, "last_commit_lsn", &c->last_commit_lsn))
		seal->malformed = "last_commit_lsn";
	else if (!find_time(doc, "first_committed_at", &c->first_committed_at))
		seal->malformed = "first_committed_at";
	else if (!find_time(doc, "last_committed_at", &c->last_committed_at))
		seal->malformed = "last_committed_at";
	else if (!find_int64(doc, "event_count", &count))
		seal->malformed = "event_count";
	else if (!find_binary(doc, "member_digests", &c->member_digests, &digests_len))
		seal->malformed = "member_digests";
	else if (!find_binary(doc, "digest", &seal->digest, &seal->digest_len))
		seal->malformed = "digest";
	if (seal->malformed)
		return;
	memcpy(c->seal_id, seal_id, UUID_LEN);
	c->event_count = (int32) count;
	c->member_digests_len = (int) digests_len;
	if (find_binary(doc, "previous_digest", &data, &len))
	{
		c->previous_digest = data;
		c->previous_digest_len = (int) len;
	}
	if (!find_members(doc, c))
		seal->malformed = "members";
	seal->has_anchor = find_binary(doc, "anchor_root", &seal->anchor_root, &seal->anchor_root_len);
	if (seal->has_anchor &&
		!(find_int64(doc, "anchor_index", &seal->anchor_index) &&
		  find_int64(doc, "anchor_size", &seal->anchor_size) &&
		  find_binary(doc, "anchor_path", &seal->anchor_path, &seal->anchor_path_len)))
		seal->malformed = "anchor";
}

/*
 * A seal's anchor: its audit path must lead from its digest to its cut's
 * root; and once a tenant's seals carry anchors, every later one must.
 * The detail of what is wrong, or NULL.
 */
static const char *
anchor_problem(const StoreSeal *seal, const StoreSeal *last_anchored)
{
	uint8		root[SEAL_DIGEST_LEN];

	if (!seal->has_anchor)
		return last_anchored
			? psprintf("it has no anchor, though seal " INT64_FORMAT " before it has one",
					   last_anchored->contents.seal_no)
			: NULL;
	if (seal->digest_len != SEAL_DIGEST_LEN || seal->anchor_root_len != SEAL_DIGEST_LEN ||
		!seal_anchor_root(seal->digest, seal->anchor_index, seal->anchor_size,
						  seal->anchor_path, (int) seal->anchor_path_len, root) ||
		memcmp(root, seal->anchor_root, SEAL_DIGEST_LEN) != 0)
		return "its audit path does not lead to its cut's anchor";
	return NULL;
}

static int
store_seal_order(const void *a, const void *b)
{
	const StoreSeal *x = a;
	const StoreSeal *y = b;
	int			cmp = seal_tenant_cmp(x->tenant_id, x->tenant_len, y->tenant_id, y->tenant_len);

	if (cmp == 0)
		cmp = (x->contents.seal_no > y->contents.seal_no) - (x->contents.seal_no < y->contents.seal_no);
	return cmp;
}

static bool
same_tenant(const StoreSeal *a, const StoreSeal *b)
{
	return seal_tenant_cmp(a->tenant_id, a->tenant_len, b->tenant_id, b->tenant_len) == 0;
}

/* A finding about a seal itself, reported if the seal is in the period asked for */
static void
seal_problem(StoreVerify *verify, const StoreSeal *seal, bool report, int *problems,
			 const char *status, const char *detail)
{
	(*problems)++;
	if (report)
		report_finding(verify, seal->tenant_id, seal->tenant_len, seal, status, NULL, detail);
}

/*
 * The store's _id of the row whose key columns key holds, as the decoder
 * writes it (bson_rules_store_id_text): its bytes are left in text, which
 * the returned key points into.
 */
static BsonKey
store_id_in(bson_string_t *text, const bson_t *key)
{
	BsonKey		result;

	bson_string_truncate(text, 0);
	if (!bson_rules_store_id_text(key, text))
		elog(ERROR, "authlog: could not make a store _id");
	result.data = (const uint8 *) text->str;
	result.len = text->len;
	return result;
}

/*
 * The store's _id of a sealed row of a tenant: an event's {tenant_id,
 * log_id} or (1.1) an access's {tenant_id, access_id}, whose _ids read
 * alike.
 */
static BsonKey
event_key(bson_string_t *text, const char *tenant, int tenant_len, const uint8 *id)
{
	bson_t		key = BSON_INITIALIZER;
	BsonKey		result;

	bson_append_utf8(&key, "tenant_id", -1, tenant, tenant_len);
	bson_append_binary(&key, "log_id", -1, BSON_SUBTYPE_UUID, id, UUID_LEN);
	result = store_id_in(text, &key);
	bson_destroy(&key);
	return result;
}

/*
 * (1.1) The events the store's retirement records name (records_log,
 * action 'retired'), by their _id: each entry's document is its record,
 * sealed_by the seal the record retired it from.  The records are sealed
 * members themselves, so a forged or altered one shows as such.
 */
static HTAB *
retired_events(bson_t **records, int nrecords)
{
	HTAB	   *retired = store_key_table_create("authlog store retired events");
	bson_string_t *key = bson_string_new(NULL);
	int			i;

	for (i = 0; i < nrecords; i++)
	{
		bson_iter_t iter;
		bson_iter_t member;
		const char *tenant;
		uint32_t	tenant_len;
		int64		seal_no;

		if (!bson_iter_init_find(&iter, records[i], "action") || !BSON_ITER_HOLDS_UTF8(&iter) ||
			strcmp(bson_iter_utf8(&iter, NULL), "retired") != 0)
			continue;
		if (!bson_iter_init_find(&iter, records[i], "tenant_id") || !BSON_ITER_HOLDS_UTF8(&iter))
			continue;
		tenant = bson_iter_utf8(&iter, &tenant_len);
		if (!find_int64(records[i], "seal_no", &seal_no) ||
			!bson_iter_init_find(&iter, records[i], "retired") || !BSON_ITER_HOLDS_ARRAY(&iter) ||
			!bson_iter_recurse(&iter, &member))
			continue;
		while (bson_iter_next(&member))
		{
			const uint8_t *id;
			uint32_t	id_len;
			bson_subtype_t subtype;
			BsonKey		k;
			uint8	   *bytes;
			StoreEntry *entry;
			bool		found;

			if (!BSON_ITER_HOLDS_BINARY(&member))
				continue;
			bson_iter_binary(&member, &subtype, &id_len, &id);
			if (subtype != BSON_SUBTYPE_UUID || id_len != UUID_LEN)
				continue;
			k = event_key(key, tenant, (int) tenant_len, id);
			/* the table keeps the key's bytes by reference */
			bytes = palloc(k.len);
			memcpy(bytes, k.data, k.len);
			k.data = bytes;
			entry = hash_search(retired, &k, HASH_ENTER, &found);
			entry->document = records[i];
			entry->sealed_by = seal_no;
		}
	}
	bson_string_free(key, true);
	return retired;
}

/* A retirement record of a seal, and how many of its members it accounts for */
typedef struct SealRetirement
{
	const bson_t *record;
	int			members;
} SealRetirement;

/* Count a member against its record, in the list of the seal's records */
static List *
note_retired(List *retirements, const bson_t *record)
{
	ListCell   *lc;
	SealRetirement *r;

	foreach(lc, retirements)
	{
		r = lfirst(lc);
		if (r->record == record)
		{
			r->members++;
			return retirements;
		}
	}
	r = palloc(sizeof(SealRetirement));
	r->record = record;
	r->members = 1;
	return lappend(retirements, r);
}

/* One finding per retirement record of the seal: how many it retired, and why */
static void
report_retired(StoreVerify *verify, const StoreSeal *seal, List *retirements)
{
	ListCell   *lc;

	foreach(lc, retirements)
	{
		const SealRetirement *r = lfirst(lc);
		const uint8 *record_id = NULL;
		uint32		len;
		TimestampTz at = 0;
		bson_iter_t iter;
		const char *reason = "";

		if (!find_binary(r->record, "record_id", &record_id, &len) || len != UUID_LEN)
			record_id = NULL;
		(void) find_time(r->record, "recorded_at", &at);
		if (bson_iter_init_find(&iter, r->record, "reason") && BSON_ITER_HOLDS_UTF8(&iter))
			reason = bson_iter_utf8(&iter, NULL);
		report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "retired", NULL,
					   psprintf("%d of its members retired by record %s at %s: %s", r->members,
								record_id ? DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum((const pg_uuid_t *) record_id)))
								: "(unreadable)",
								time_text(at), reason));
	}
}

/*
 * One tenant's seals, in seal_no order: each seal against its own digest,
 * the chain, and the events the store holds.  Returns the last seal's
 * commit time, which the tenant's unsealed events are judged against.
 */
static TimestampTz
verify_store_tenant(StoreVerify *verify, StoreSeal *seals, int count, HTAB *events,
					HTAB *refused, HTAB *retired)
{
	const StoreSeal *prev = NULL;
	const StoreSeal *last_anchored = NULL;
	TimestampTz sealed_up_to = DT_NOBEGIN;
	bson_string_t *key = bson_string_new(NULL);
	int			s;

	for (s = 0; s < count; s++)
	{
		StoreSeal  *seal = &seals[s];
		SealContents *c = &seal->contents;
		bool		report = !verify->has_since || seal->malformed ||
			c->last_committed_at >= verify->since;
		int			problems = 0;
		uint8		digest[SEAL_DIGEST_LEN];
		List	   *retirements = NIL;
		int			m;

		CHECK_FOR_INTERRUPTS();
		if (seal->malformed)
		{
			report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "seal_altered", NULL,
						   psprintf("its field %s is missing or malformed", seal->malformed));
			continue;
		}
		sealed_up_to = Max(sealed_up_to, c->last_committed_at);

		/* the chain: numbers without gaps, each link the previous digest */
		{
			int64		expected = prev ? prev->contents.seal_no + 1 : 1;

			if (c->seal_no > expected && (prev != NULL || !verify->has_since))
				seal_problem(verify, seal, report, &problems, "seal_missing",
							 c->seal_no == expected + 1
							 ? psprintf("seal " INT64_FORMAT " is missing", expected)
							 : psprintf("seals " INT64_FORMAT " to " INT64_FORMAT " are missing",
										expected, c->seal_no - 1));
		}

		seal_compute_digest(c, digest);
		if (seal->digest_len != SEAL_DIGEST_LEN || memcmp(digest, seal->digest, SEAL_DIGEST_LEN) != 0)
			seal_problem(verify, seal, report, &problems, "seal_altered",
						 "its digest does not match its contents");
		else if (c->members_len != c->event_count * UUID_LEN ||
				 c->member_digests_len != c->event_count * SEAL_DIGEST_LEN)
			seal_problem(verify, seal, report, &problems, "seal_altered",
						 "its member list does not match its event count");
		else if (prev != NULL && c->seal_no == prev->contents.seal_no + 1 &&
				 (c->previous_digest == NULL || prev->digest_len != (uint32) c->previous_digest_len ||
				  memcmp(c->previous_digest, prev->digest, prev->digest_len) != 0))
			seal_problem(verify, seal, report, &problems, "seal_altered",
						 psprintf("it does not chain to seal " INT64_FORMAT, prev->contents.seal_no));
		else if (c->seal_no == 1 && c->previous_digest != NULL)
			seal_problem(verify, seal, report, &problems, "seal_altered",
						 "seal 1 chains to a previous seal");
		else if (anchor_problem(seal, last_anchored) != NULL)
			seal_problem(verify, seal, report, &problems, "seal_altered",
						 anchor_problem(seal, last_anchored));
		if (seal->has_anchor)
			last_anchored = seal;

		for (m = 0; m < c->members_len / UUID_LEN; m++)
		{
			const uint8 *log_id = c->members + (Size) m * UUID_LEN;
			StoreEntry *event;
			BsonKey		id;

			id = event_key(key, seal->tenant_id, seal->tenant_len, log_id);
			event = hash_search(events, &id, HASH_FIND, NULL);
			if (event == NULL)
			{
				/* retired by a record naming it in this seal, never taken (a dead letter), or lost */
				StoreEntry *record = hash_search(retired, &id, HASH_FIND, NULL);
				StoreEntry *letter;

				if (record != NULL && record->sealed_by == c->seal_no)
				{
					retirements = note_retired(retirements, record->document);
					continue;
				}
				letter = hash_search(refused, &id, HASH_FIND, NULL);

				problems++;
				if (report && letter)
					report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "refused", log_id,
								   psprintf("the store refused it (kept in dead_letters): %s",
											letter->reason));
				else if (report)
					report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "row_deleted", log_id,
								   "the seal lists it; the store no longer has it");
				continue;
			}
			if (!seal_event_digest(event->document, change_table_key_columns(event->table), digest) ||
				(m + 1) * SEAL_DIGEST_LEN > c->member_digests_len ||
				memcmp(digest, c->member_digests + (Size) m * SEAL_DIGEST_LEN, SEAL_DIGEST_LEN) != 0)
			{
				problems++;
				if (report)
					report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "row_changed", log_id,
								   "its document differs from the one the seal recorded");
			}
			else if (event->seen)
			{
				/* an earlier seal of the tenant listed it */
				problems++;
				if (report)
					report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "sealed_twice", log_id,
								   psprintf("seal " INT64_FORMAT " lists it already", event->sealed_by));
			}
			else if (prev != NULL)
			{
				int64		occurred_us;

				if (find_int64(event->document, "occurred_at_us", &occurred_us) &&
					from_unix_us(occurred_us) < prev->contents.last_committed_at - verify->skew_us)
				{
					problems++;
					if (report)
						report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "back_dated", log_id,
									   psprintf("occurred_at %s is more than %s before seal " INT64_FORMAT " closed at %s",
												time_text(from_unix_us(occurred_us)),
												GetConfigOption("authlog.max_clock_skew", false, false),
												prev->contents.seal_no,
												time_text(prev->contents.last_committed_at)));
				}
			}
			if (!event->seen)
			{
				event->seen = true;
				event->sealed_by = c->seal_no;
			}
		}
		if (report)
			report_retired(verify, seal, retirements);
		list_free_deep(retirements);
		if (problems == 0 && report)
			report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "ok", NULL, NULL);
		prev = seal;
	}
	bson_string_free(key, true);
	return sealed_up_to;
}

/* How far a tenant's seals reach, in tenant order */
typedef struct SealedTenant
{
	const char *tenant_id;
	int			tenant_len;
	TimestampTz sealed_up_to;
} SealedTenant;

static int
sealed_tenant_order(const void *a, const void *b)
{
	const SealedTenant *x = a;
	const SealedTenant *y = b;

	return seal_tenant_cmp(x->tenant_id, x->tenant_len, y->tenant_id, y->tenant_len);
}

/* Events of the store no seal lists, yet dated inside their tenant's sealed period */
static void
report_unsealed_events(StoreVerify *verify, HTAB *events, SealedTenant *tenants, int ntenants)
{
	HASH_SEQ_STATUS seq;
	StoreEntry *event;
	int64		interval_us = (int64) authlog_seal_interval_s * USECS_PER_SEC;
	TimestampTz overdue_before = GetCurrentTimestamp() - interval_us - verify->skew_us;
	int64		waiting = 0;
	TimestampTz waiting_since = DT_NOEND;

	hash_seq_init(&seq, events);
	while ((event = hash_seq_search(&seq)) != NULL)
	{
		bson_iter_t iter;
		const char *tenant;
		uint32		tenant_len;
		int64		occurred_us;
		int64		recorded_us;
		TimestampTz claimed;
		SealedTenant probe;
		SealedTenant *sealed;
		const uint8 *log_id;
		uint32		len;

		if (event->seen ||
			!bson_iter_init_find(&iter, event->document, "tenant_id") || !BSON_ITER_HOLDS_UTF8(&iter))
			continue;
		tenant = bson_iter_utf8(&iter, &tenant_len);
		probe.tenant_id = tenant;
		probe.tenant_len = (int) tenant_len;
		sealed = bsearch(&probe, tenants, ntenants, sizeof(SealedTenant), sealed_tenant_order);
		if (!find_int64(event->document, "occurred_at_us", &occurred_us) ||
			!find_int64(event->document, "recorded_at_us", &recorded_us) ||
			!find_binary(event->document, "log_id", &log_id, &len) || len != UUID_LEN)
			continue;
		claimed = from_unix_us(Min(occurred_us, recorded_us));
		if (verify->has_since && from_unix_us(Max(occurred_us, recorded_us)) < verify->since)
			continue;
		if (sealed != NULL && sealed->sealed_up_to != DT_NOBEGIN &&
			claimed < sealed->sealed_up_to - verify->skew_us)
			report_finding(verify, tenant, (int) tenant_len, NULL, "row_added", log_id,
						   psprintf("no seal lists it, yet it claims %s, inside the sealed period (sealed up to %s)",
									time_text(claimed), time_text(sealed->sealed_up_to)));
		else if (interval_us == 0)
		{
			/* sealing paused: counted, not flagged one by one */
			waiting++;
			waiting_since = Min(waiting_since, from_unix_us(recorded_us));
		}
		else if (from_unix_us(recorded_us) < overdue_before)
			report_finding(verify, tenant, (int) tenant_len, NULL, "unsealed", log_id,
						   psprintf("committed at %s, longer ago than authlog.seal_interval and authlog.max_clock_skew, and no seal lists it",
									time_text(from_unix_us(recorded_us))));
	}
	if (waiting > 0)
		report_finding(verify, NULL, 0, NULL, "sealing_paused", NULL,
					   psprintf("authlog.seal_interval is 0: sealing is paused, and " INT64_FORMAT " events committed since %s are not sealed",
								waiting, time_text(waiting_since)));
}

/* Each seal of PostgreSQL against the store's: the two stores witness each other */
static void
compare_with_postgres(StoreVerify *verify, text *tenant, StoreSeal *seals, int nseals)
{
	HTAB	   *by_id = store_key_table_create("authlog store seals");
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {PointerGetDatum(tenant)};
	bson_t		key = BSON_INITIALIZER;
	bson_string_t *key_text = bson_string_new(NULL);
	HASH_SEQ_STATUS seq;
	StoreEntry *entry;
	uint64		r;
	int			s;

	for (s = 0; s < nseals; s++)
	{
		bool		found;

		entry = hash_search(by_id, &seals[s].id, HASH_ENTER, &found);
		entry->document = (const bson_t *) &seals[s];	/* the parsed seal */
		entry->seen = false;
	}
	/* the digest PostgreSQL's seal carries, and the one its contents call for */
	if (SPI_execute_with_args(tenant
							  ? "SELECT tenant_id, seal_no, digest, authlog.seal_digest(s) FROM authlog.seals s WHERE tenant_id OPERATOR(pg_catalog.=) $1 ORDER BY 1, 2"
							  : "SELECT tenant_id, seal_no, digest, authlog.seal_digest(s) FROM authlog.seals s ORDER BY 1, 2",
							  tenant ? 1 : 0, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read authlog.seals");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		text	   *pg_tenant = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		int64		seal_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		bytea	   *digest = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull));
		bytea	   *recomputed = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 4, &isnull));
		BsonKey		id;
		StoreSeal	placeholder;

		bson_reinit(&key);
		bson_append_utf8(&key, "tenant_id", -1, VARDATA_ANY(pg_tenant), VARSIZE_ANY_EXHDR(pg_tenant));
		bson_append_int64(&key, "seal_no", -1, seal_no);
		id = store_id_in(key_text, &key);
		entry = hash_search(by_id, &id, HASH_FIND, NULL);
		memset(&placeholder, 0, sizeof(placeholder));
		placeholder.contents.seal_no = seal_no;
		placeholder.malformed = "absent";
		if (entry == NULL)
		{
			report_finding(verify, VARDATA_ANY(pg_tenant), VARSIZE_ANY_EXHDR(pg_tenant), &placeholder,
						   "seal_missing", NULL,
						   "in PostgreSQL, not in the document store (a recent seal may not be mirrored yet: see authlog.mirror_sync())");
			continue;
		}
		entry->seen = true;
		{
			const StoreSeal *seal = (const StoreSeal *) entry->document;

			if (seal->malformed || seal->digest_len != VARSIZE_ANY_EXHDR(digest) ||
				memcmp(seal->digest, VARDATA_ANY(digest), seal->digest_len) != 0 ||
				memcmp(seal->digest, VARDATA_ANY(recomputed), Min(seal->digest_len, SEAL_DIGEST_LEN)) != 0)
				report_finding(verify, VARDATA_ANY(pg_tenant), VARSIZE_ANY_EXHDR(pg_tenant), seal,
							   "seal_differs", NULL,
							   "PostgreSQL's copy of the seal differs from the document store's");
		}
	}
	SPI_freetuptable(SPI_tuptable);
	bson_destroy(&key);
	bson_string_free(key_text, true);

	hash_seq_init(&seq, by_id);
	while ((entry = hash_seq_search(&seq)) != NULL)
		if (!entry->seen)
		{
			const StoreSeal *seal = (const StoreSeal *) entry->document;

			report_finding(verify, seal->tenant_id, seal->tenant_len, seal, "seal_missing", NULL,
						   "in the document store, not in PostgreSQL");
		}
}

/*
 * authlog.verify_store_seals(tenant_id, since): verify_seals against the
 * store's copy, then every seal against PostgreSQL's.
 */
Datum
authlog_verify_store_seals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *tenant = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	StoreVerify verify;
	MongoSink  *sink;
	bson_t		filter = BSON_INITIALIZER;
	bson_t	  **seal_docs;
	bson_t	  **event_docs;
	bson_t	  **access_docs = NULL;
	bson_t	  **record_docs = NULL;
	bson_error_t error;
	int			nseals;
	int			nevents = 0;
	int			naccesses = 0;
	int			nrecords = 0;
	StoreSeal  *seals;
	HTAB	   *events;
	HTAB	   *refused = NULL;
	HTAB	   *retired;
	SealedTenant *tenants;
	int			ntenants = 0;
	int			i;
	int			start;
	int			pinned;

	InitMaterializedSRF(fcinfo, 0);
	memset(&verify, 0, sizeof(verify));
	verify.rsinfo = rsinfo;
	verify.has_since = !PG_ARGISNULL(1);
	if (verify.has_since)
		verify.since = PG_GETARG_TIMESTAMPTZ(1);
	verify.skew_us = (int64) authlog_max_clock_skew_s * USECS_PER_SEC;

	sink = mongo_sink_connect_for_backend();
	if (tenant)
		bson_append_utf8(&filter, "tenant_id", -1, VARDATA_ANY(tenant), VARSIZE_ANY_EXHDR(tenant));
	nseals = mongo_sink_find(sink, "seals", &filter, &seal_docs, &error);
	if (nseals >= 0)
		nevents = mongo_sink_find(sink, "auth_logs", &filter, &event_docs, &error);
	/* (1.1) the seals list the tenant's reads of its evidence too */
	if (nseals >= 0 && nevents >= 0)
		naccesses = mongo_sink_find(sink, "access_log", &filter, &access_docs, &error);
	/* (1.1) and the records of retention and holds, which name retired events */
	if (nseals >= 0 && nevents >= 0 && naccesses >= 0)
		nrecords = mongo_sink_find(sink, "records_log", &filter, &record_docs, &error);
	if (naccesses < 0 || nrecords < 0)
		nevents = -1;
	if (nseals >= 0 && nevents >= 0)
		refused = mongo_sink_dead_letters(sink, "auth_logs", tenant, &error);
	bson_destroy(&filter);
	if (refused == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read the document store"),
				 errdetail("%s", error.message)));

	events = store_key_table_create("authlog store events");
	for (i = 0; i < nevents + naccesses + nrecords; i++)
	{
		bson_t	   *document = i < nevents ? event_docs[i]
			: i < nevents + naccesses ? access_docs[i - nevents]
			: record_docs[i - nevents - naccesses];
		BsonKey		key;
		bool		found;
		StoreEntry *entry;

		if (!store_id_key(document, "_id", &key))
			continue;
		entry = hash_search(events, &key, HASH_ENTER, &found);
		entry->document = document;
		entry->table = i < nevents ? CHANGE_TABLE_AUTH_LOGS
			: i < nevents + naccesses ? CHANGE_TABLE_ACCESS_LOG : CHANGE_TABLE_RECORDS_LOG;
		entry->seen = false;
	}
	retired = retired_events(record_docs, nrecords);
	seals = palloc0(sizeof(StoreSeal) * Max(nseals, 1));
	for (i = 0; i < nseals; i++)
		read_store_seal(seal_docs[i], &seals[i]);
	qsort(seals, nseals, sizeof(StoreSeal), store_seal_order);

	/* seals sorted by tenant, so tenants come out in the order bsearch needs */
	tenants = palloc(sizeof(SealedTenant) * Max(nseals, 1));
	for (start = 0; start < nseals;)
	{
		int			end = start + 1;

		while (end < nseals && same_tenant(&seals[start], &seals[end]))
			end++;
		tenants[ntenants].tenant_id = seals[start].tenant_id;
		tenants[ntenants].tenant_len = seals[start].tenant_len;
		tenants[ntenants].sealed_up_to = verify_store_tenant(&verify, seals + start, end - start,
															   events, refused, retired);
		ntenants++;
		start = end;
	}
	report_unsealed_events(&verify, events, tenants, ntenants);

	pinned = authlog_pin_settings();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	compare_with_postgres(&verify, tenant, seals, nseals);
	SPI_finish();
	authlog_restore_settings(pinned);
	return (Datum) 0;
}
