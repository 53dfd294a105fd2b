/*-------------------------------------------------------------------------
 *
 * account_row.c
 *	  An account's row in authlog.account_lockouts, locked and updated,
 *	  and the organisation authlog.account_organisations registered for an
 *	  account without one, through the table and index access methods,
 *	  without the executor.
 *
 *	  Every call of record_login locks its account's row, every failure of
 *	  a known account updates it, and every call of an account without a
 *	  row reads the registry.  As statements, the two cost
 *	  more than inserting the event itself: executor start-up, the plan's
 *	  nodes, projections, for one row found by its key (callgrind,
 *	  doc/performance.md).  Here the row is found by a scan of the primary
 *	  key, locked with table_tuple_lock as SELECT ... FOR UPDATE locks it
 *	  (in READ COMMITTED the latest version, waiting for a transaction that
 *	  holds it; in REPEATABLE READ and SERIALIZABLE a row changed since the
 *	  snapshot is a serialization failure), and updated in place of the
 *	  version it locked, with its index entries when the update is not HOT.
 *
 *	  Only for tables that a statement would treat the same way: no
 *	  trigger, no row-level security in force for the current user, indexes
 *	  on plain columns, immediate.  Otherwise, and for a 1.0 table that has
 *	  not the expected columns, the caller runs its statements (record.c),
 *	  which remain the reference for what these do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "authlog_common.h"
#include "write_path.h"

/* A table keyed by (tenant_id, user_id), first, as this file knows it */
typedef struct AccountTable
{
	const char *name;
	int			ncolumns;
	const char *const *columns;
	const Oid  *types;
} AccountTable;

/* account_lockouts' columns, in AccountRow's order, and their types */
static const char *const lockout_columns[ACCOUNT_ROW_NATTS] = {
	"tenant_id", "user_id", "organisation_id", "failed_login_attempts",
	"first_failed_at", "last_failed_at", "last_failed_ip",
	"account_locked_until", "lockout_count", "updated_at"
};
static const Oid lockout_types[ACCOUNT_ROW_NATTS] = {
	TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INETOID,
	TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID
};
static const AccountTable account_lockouts = {
	"account_lockouts", ACCOUNT_ROW_NATTS, lockout_columns, lockout_types
};

/* (1.1) account_organisations' */
static const char *const registry_columns[3] = {"tenant_id", "user_id", "organisation_id"};
static const Oid registry_types[3] = {TEXTOID, TEXTOID, TEXTOID};
static const AccountTable account_organisations = {
	"account_organisations", 3, registry_columns, registry_types
};

/*
 * The table as this call sees it: exactly its columns, of their types,
 * their numbers found by name in its descriptor, and its primary key on
 * (tenant_id, user_id), opened with lockmode.  False for a table of
 * another shape (a column added, one of another type: its update must
 * keep what this file does not know).  Nothing is kept from one
 * call to the next: an ALTER TABLE or REINDEX CONCURRENTLY between two
 * would leave it stale.
 */
static bool
account_table_shape(const AccountTable *table, Relation rel, AttrNumber *attnums,
					Relation *pkey, LOCKMODE lockmode)
{
	Oid			pkey_oid;
	Relation	index;

	if (!table_has_exactly(rel, table->ncolumns, table->columns, table->types, attnums))
		return false;
	pkey_oid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkey_oid))
		return false;
	index = index_open(pkey_oid, lockmode);
	if (index->rd_index->indnkeyatts != 2 ||
		index->rd_index->indkey.values[0] != attnums[0] ||
		index->rd_index->indkey.values[1] != attnums[1])
	{
		index_close(index, lockmode);
		return false;
	}
	*pkey = index;
	return true;
}

/*
 * What a statement would do differently: triggers (foreign keys among
 * them; the row is locked, updated and inserted, so any trigger counts),
 * check constraints, row-level security
 */
static bool
account_table_plain(Relation rel)
{
	return rel->trigdesc == NULL && table_without_checks(rel);
}

static Oid
account_table_oid(const AccountTable *table)
{
	return get_relname_relid(table->name, get_namespace_oid(AUTHLOG_SCHEMA, false));
}

/*
 * Open a table keyed by account with lockmode, and its primary key; false,
 * with nothing open, for one a statement must read or write, and for a
 * lock or a write in a read-only transaction.
 */
static bool
account_table_open(const AccountTable *table, LOCKMODE lockmode, Relation *rel,
				   AttrNumber *attnums, Relation *pkey)
{
	Oid			relid = account_table_oid(table);

	if (!OidIsValid(relid))
		return false;			/* (a database still at 1.0) */
	/* a read-only transaction (a standby's too) gets the statement's own refusal */
	if (lockmode != AccessShareLock && XactReadOnly)
		return false;
	*rel = table_open(relid, lockmode);
	if (!account_table_plain(*rel) ||
		!account_table_shape(table, *rel, attnums, pkey, lockmode))
	{
		table_close(*rel, NoLock);
		return false;
	}
	return true;
}

/*
 * A statement's snapshot, this transaction's earlier writes included, and
 * in READ COMMITTED taken now (after any lock the caller waited for)
 */
static Snapshot
statement_snapshot(void)
{
	Snapshot	snapshot;

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	PushActiveSnapshot(snapshot);
	return snapshot;
}

static void
statement_snapshot_end(Snapshot snapshot)
{
	PopActiveSnapshot();
	UnregisterSnapshot(snapshot);
}

/* A scan of a table keyed by account for one account's key, and what it found */
typedef struct AccountScan
{
	Relation	rel;
	Relation	pkey;
	AttrNumber	attnums[ACCOUNT_ROW_NATTS];
	Snapshot	snapshot;
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bool		found;			/* the slot holds the row */
} AccountScan;

/*
 * Look for the account's row, as a statement's WHERE on its key would,
 * with a statement's snapshot; false, with nothing open, for a table a
 * statement must read.
 */
static bool
account_scan_begin(AccountScan *s, const AccountTable *table, LOCKMODE lockmode,
				   text *tenant, text *user)
{
	if (!account_table_open(table, lockmode, &s->rel, s->attnums, &s->pkey))
		return false;
	s->snapshot = statement_snapshot();
	s->slot = table_slot_create(s->rel, NULL);
	ScanKeyInit(&s->keys[0], 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(tenant));
	s->keys[0].sk_collation = s->pkey->rd_indcollation[0];
	ScanKeyInit(&s->keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(user));
	s->keys[1].sk_collation = s->pkey->rd_indcollation[1];
	s->scan = index_beginscan(s->rel, s->pkey, s->snapshot, 2, 0);
	index_rescan(s->scan, s->keys, 2, NULL, 0);
	s->found = index_getnext_slot(s->scan, ForwardScanDirection, s->slot);
	return true;
}

/* Close what account_scan_begin opened; the locks stay to the end of the transaction */
static void
account_scan_end(AccountScan *s)
{
	index_endscan(s->scan);
	ExecDropSingleTupleTableSlot(s->slot);
	statement_snapshot_end(s->snapshot);
	index_close(s->pkey, NoLock);
	table_close(s->rel, NoLock);
}

static Datum
slot_column_copy(TupleTableSlot *slot, AttrNumber attnum, bool *isnull)
{
	Form_pg_attribute attr = TupleDescAttr(slot->tts_tupleDescriptor, attnum - 1);
	Datum		value = slot_getattr(slot, attnum, isnull);

	return *isnull ? (Datum) 0 : datumCopy(value, attr->attbyval, attr->attlen);
}

/*
 * Lock the account's row, as lock_account_sql does, and read it into
 * *row.  Returns ACCOUNT_ROW_FOUND or ACCOUNT_ROW_ABSENT, or
 * ACCOUNT_ROW_USE_SQL, having done nothing, for a table this file does not
 * handle.
 */
AccountRowResult
account_row_lock(text *tenant, text *user, AccountRow *row)
{
	AccountScan s;
	AccountRowResult result = ACCOUNT_ROW_ABSENT;

	memset(row, 0, sizeof(AccountRow));
	row->locked_here = true;
	/* the lock a SELECT ... FOR UPDATE takes */
	if (!account_scan_begin(&s, &account_lockouts, RowShareLock, tenant, user))
		return ACCOUNT_ROW_USE_SQL;
	if (s.found)
	{
		TM_FailureData tmfd;
		TM_Result	locked;

		/*
		 * As ExecLockRows: in READ COMMITTED the latest version, once the
		 * transaction holding it ends; the key columns never change, so the
		 * version found is the account's.
		 */
		locked = table_tuple_lock(s.rel, &s.slot->tts_tid, s.snapshot, s.slot,
								  GetCurrentCommandId(true), LockTupleExclusive,
								  LockWaitBlock,
								  IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
								  &tmfd);
		switch (locked)
		{
			case TM_Ok:
				result = ACCOUNT_ROW_FOUND;
				break;
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent delete")));
				/* deleted since: the account has no row */
				break;
			case TM_Updated:
				/* only without TUPLE_LOCK_FLAG_FIND_LAST_VERSION */
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
				break;
			default:
				elog(ERROR, "authlog: unexpected result %d locking an account's row", (int) locked);
		}
	}
	if (result == ACCOUNT_ROW_FOUND)
	{
		row->tid = s.slot->tts_tid;
		for (int i = 0; i < ACCOUNT_ROW_NATTS; i++)
			row->values[i] = slot_column_copy(s.slot, s.attnums[i], &row->nulls[i]);
	}
	account_scan_end(&s);
	return result;
}

/*
 * (1.1) The organisation account_organisations registered for the
 * account, as registered_organisation_sql reads it (the caller holds the
 * account's advisory lock; the snapshot is taken after it).  Returns
 * ACCOUNT_ROW_FOUND with *organisation, ACCOUNT_ROW_ABSENT, or
 * ACCOUNT_ROW_USE_SQL, having read nothing.
 */
AccountRowResult
account_row_registered_organisation(text *tenant, text *user, text **organisation)
{
	AccountScan s;
	bool		isnull;
	AccountRowResult result = ACCOUNT_ROW_ABSENT;

	*organisation = NULL;
	if (!account_scan_begin(&s, &account_organisations, AccessShareLock, tenant, user))
		return ACCOUNT_ROW_USE_SQL;
	if (s.found)
	{
		*organisation = DatumGetTextPP(slot_column_copy(s.slot, s.attnums[2], &isnull));
		result = ACCOUNT_ROW_FOUND;
	}
	account_scan_end(&s);
	return result;
}

/*
 * Whether every index of the table is one this file can maintain: on
 * plain columns, no predicate, no exclusion, checked immediately.
 */
static bool
account_indexes_plain(Relation rel, List *indexes)
{
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		bool		plain = index->rd_index->indimmediate &&
			!index->rd_index->indisexclusion &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);

		index_close(index, NoLock);
		if (!plain)
			return false;
	}
	return true;
}

/* Each index an entry for the row in slot, as ExecInsertIndexTuples makes them */
static void
account_index_entries(Relation rel, List *indexes, TupleTableSlot *slot, Oid unchanged_index)
{
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(index);
		Datum		index_values[INDEX_MAX_KEYS];
		bool		index_nulls[INDEX_MAX_KEYS];

		FormIndexDatum(info, slot, NULL, index_values, index_nulls);
		index_insert(index, index_values, index_nulls, &slot->tts_tid, rel,
					 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 RelationGetRelid(index) == unchanged_index, info);
		index_close(index, NoLock);
	}
}

/*
 * The row as the call leaves it, into slot (cleared, from row's values
 * or, for a new row, from nothing): organisation, the state after the
 * call, the time, and for a failure (failed) its time and IP.
 */
static void
account_row_fill(TupleTableSlot *slot, const AttrNumber *attnums, const AccountRow *row,
				 text *tenant, text *user, text *organisation, const LockoutState *state,
				 TimestampTz now, bool failed, Datum ip, bool ip_null)
{
	Datum	   *values = slot->tts_values;
	bool	   *nulls = slot->tts_isnull;

	ExecClearTuple(slot);
	memset(nulls, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);	/* and any dropped column */
	if (row != NULL)
		for (int i = 0; i < ACCOUNT_ROW_NATTS; i++)
		{
			values[attnums[i] - 1] = row->values[i];
			nulls[attnums[i] - 1] = row->nulls[i];
		}
#define SET_COLUMN(column, value, isnull) \
	do { \
		values[attnums[column] - 1] = (value); \
		nulls[attnums[column] - 1] = (isnull); \
	} while (0)
	if (row == NULL)
	{
		SET_COLUMN(ACCOUNT_TENANT, PointerGetDatum(tenant), false);
		SET_COLUMN(ACCOUNT_USER, PointerGetDatum(user), false);
	}
	SET_COLUMN(ACCOUNT_ORGANISATION, PointerGetDatum(organisation), false);
	SET_COLUMN(ACCOUNT_FAILED_ATTEMPTS, Int32GetDatum(state->failed_login_attempts), false);
	SET_COLUMN(ACCOUNT_FIRST_FAILED_AT, TimestampTzGetDatum(state->first_failed_at),
			   !state->has_first_failed);
	SET_COLUMN(ACCOUNT_LOCKED_UNTIL, TimestampTzGetDatum(state->locked_until), !state->is_locked);
	SET_COLUMN(ACCOUNT_LOCKOUT_COUNT, Int32GetDatum(state->lockout_count), false);
	SET_COLUMN(ACCOUNT_UPDATED_AT, TimestampTzGetDatum(now), false);
	if (failed)
	{
		SET_COLUMN(ACCOUNT_LAST_FAILED_AT, TimestampTzGetDatum(now), false);
		SET_COLUMN(ACCOUNT_LAST_FAILED_IP, ip, ip_null);
	}
#undef SET_COLUMN
	ExecStoreVirtualTuple(slot);
}

/* Open account_lockouts to write it, or false, with nothing open, for the statements */
static bool
account_table_open_to_write(Relation *rel, AttrNumber *attnums, Relation *pkey, List **indexes)
{
	if (!account_table_open(&account_lockouts, RowExclusiveLock, rel, attnums, pkey))
		return false;
	*indexes = RelationGetIndexList(*rel);
	if (!account_indexes_plain(*rel, *indexes))
	{
		list_free(*indexes);
		index_close(*pkey, NoLock);
		table_close(*rel, NoLock);
		return false;
	}
	return true;
}

static void
account_table_close(Relation rel, Relation pkey, List *indexes)
{
	list_free(indexes);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
}

/*
 * Write the account's row with the state after the call: a new one (row
 * NULL), or the version account_row_lock locked.  False, having written
 * nothing, for a table the statements must write.
 */
static bool
account_row_write(const AccountRow *row, text *tenant, text *user, text *organisation,
				  const LockoutState *state, TimestampTz now, bool failed, Datum ip, bool ip_null)
{
	Relation	rel;
	Relation	pkey;
	AttrNumber	attnums[ACCOUNT_ROW_NATTS];
	List	   *indexes;
	TupleTableSlot *slot;

	if (!account_table_open_to_write(&rel, attnums, &pkey, &indexes))
		return false;
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), table_slot_callbacks(rel));
	account_row_fill(slot, attnums, row, tenant, user, organisation, state, now, failed,
					 ip, ip_null);
	if (row == NULL)
	{
		table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
		account_index_entries(rel, indexes, slot, InvalidOid);
	}
	else
	{
		Snapshot	snapshot = RegisterSnapshot(GetTransactionSnapshot());
		bool		update_indexes;

		/* the version locked, which no other transaction can have changed since */
		simple_table_tuple_update(rel, (ItemPointer) &row->tid, slot, snapshot, &update_indexes);
		UnregisterSnapshot(snapshot);
		/* not HOT: entries for the new version; the primary key's columns are never updated */
		if (update_indexes)
			account_index_entries(rel, indexes, slot, RelationGetRelid(pkey));
	}
	ExecDropSingleTupleTableSlot(slot);
	account_table_close(rel, pkey, indexes);
	return true;
}

/*
 * Create the row of an account seen for the first time, as
 * create_account_sql does, for a caller that holds the account's advisory
 * lock and found no row after taking it (every creator of a row holds it:
 * no other can create this one meanwhile, so this is a plain insert, and a
 * row there after all is a unique violation, not a row to wait for).
 */
bool
account_row_create(text *tenant, text *user, text *organisation, const LockoutState *state,
				   TimestampTz now, bool failed, Datum ip, bool ip_null)
{
	return account_row_write(NULL, tenant, user, organisation, state, now, failed, ip, ip_null);
}

/*
 * Update the row account_row_lock locked, as update_account_sql does:
 * organisation, the state after the call, the time, and for a failure
 * (failed) its time and IP.
 */
bool
account_row_update(const AccountRow *row, text *organisation, const LockoutState *state,
				   TimestampTz now, bool failed, Datum ip, bool ip_null)
{
	return account_row_write(row, NULL, NULL, organisation, state, now, failed, ip, ip_null);
}
