/*-------------------------------------------------------------------------
 *
 * seal_members.c
 *	  A seal's members entered in authlog.seal_members through the table
 *	  access method, a seal's rows at a time, without a statement.
 *
 *	  The sealer enters every event it seals in seal_members (its guard
 *	  against sealing a row twice, and the index export_events and
 *	  seal_proofs find an event's seal by).  As INSERT ... SELECT unnest()
 *	  each row cost a heap insert with a WAL record of its own and the
 *	  executor's work per row (callgrind, doc/performance.md).  Here the
 *	  rows go in with table_multi_insert, which writes a page's rows in one
 *	  WAL record as COPY does, and their index entries are made by
 *	  ExecInsertIndexTuples, as the statement makes them, for whatever
 *	  indexes the table has.
 *
 *	  Only where the statement would do nothing more: a plain table of
 *	  exactly its three columns, no insert trigger (foreign keys among
 *	  them), no check constraint, no deferred unique check, no row-level
 *	  security in force for the sealer.  Otherwise the caller runs the
 *	  statement (sealer.c), which remains the reference for what this does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "authlog_common.h"
#include "sealer.h"

#define SEAL_MEMBERS_NATTS 3

/* seal_members' columns and their types, in the order of the values written */
static const char *const member_columns[SEAL_MEMBERS_NATTS] = {"tenant_id", "log_id", "seal_no"};
static const Oid member_types[SEAL_MEMBERS_NATTS] = {TEXTOID, UUIDOID, INT8OID};

/*
 * Would an INSERT do anything this file does not?  attnums gets each
 * column's number; the table must have exactly these columns, so that no
 * default of another is left out.
 */
static bool
seal_members_plain(Relation rel, AttrNumber *attnums)
{
	TriggerDesc *triggers = rel->trigdesc;

	if (triggers != NULL &&
		(triggers->trig_insert_before_row || triggers->trig_insert_after_row ||
		 triggers->trig_insert_instead_row || triggers->trig_insert_before_statement ||
		 triggers->trig_insert_after_statement || triggers->trig_insert_new_table))
		return false;
	return table_without_checks(rel) &&
		table_has_exactly(rel, SEAL_MEMBERS_NATTS, member_columns, member_types, attnums);
}

/* Every index checks its entries now: none leaves a recheck to the end of the statement */
static bool
indexes_immediate(ResultRelInfo *result)
{
	for (int i = 0; i < result->ri_NumIndices; i++)
		if (!result->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
	return true;
}

/*
 * Enter count members (uuid Datums) of a tenant's seal in seal_members, as
 * "INSERT INTO authlog.seal_members (tenant_id, log_id, seal_no) SELECT
 * $1, m, $2 FROM unnest($3) m" would.  False, with nothing written, when
 * that statement must run instead.  A member some seal lists already is a
 * unique violation, as from the statement.
 */
bool
seal_members_insert(Datum tenant, int64 seal_no, const Datum *log_ids, int count)
{
	Oid			relid = get_relname_relid("seal_members", get_namespace_oid(AUTHLOG_SCHEMA, false));
	AttrNumber	attnums[SEAL_MEMBERS_NATTS];
	MemoryContext work;
	MemoryContext old;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *result;
	TupleTableSlot **slots;
	CommandId	cid;

	if (!OidIsValid(relid) || count <= 0)
		return false;
	rel = table_open(relid, RowExclusiveLock);
	if (!seal_members_plain(rel, attnums))
	{
		table_close(rel, NoLock);
		return false;
	}
	work = AllocSetContextCreate(CurrentMemoryContext, "authlog seal members",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	estate = CreateExecutorState();
	result = makeNode(ResultRelInfo);
	InitResultRelInfo(result, rel, 1, NULL, 0);
	ExecOpenIndices(result, false);
	if (!indexes_immediate(result))
	{
		ExecCloseIndices(result);
		FreeExecutorState(estate);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(work);
		table_close(rel, NoLock);
		return false;
	}

	slots = palloc(sizeof(TupleTableSlot *) * count);
	for (int i = 0; i < count; i++)
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
														table_slot_callbacks(rel));

		ExecClearTuple(slot);
		memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
		slot->tts_values[attnums[0] - 1] = tenant;
		slot->tts_isnull[attnums[0] - 1] = false;
		slot->tts_values[attnums[1] - 1] = log_ids[i];
		slot->tts_isnull[attnums[1] - 1] = false;
		slot->tts_values[attnums[2] - 1] = Int64GetDatum(seal_no);
		slot->tts_isnull[attnums[2] - 1] = false;
		ExecStoreVirtualTuple(slot);
		slots[i] = slot;
	}

	cid = GetCurrentCommandId(true);
	table_multi_insert(rel, slots, count, cid, 0, NULL);
	for (int i = 0; i < count; i++)
	{
		List	   *recheck;

		ResetPerTupleExprContext(estate);
		recheck = ExecInsertIndexTuples(result, slots[i], estate, false, false, NULL, NIL);
		if (recheck != NIL)
			elog(ERROR, "authlog sealer: an index of authlog.seal_members deferred its check");
	}

	for (int i = 0; i < count; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	ExecCloseIndices(result);
	FreeExecutorState(estate);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	table_close(rel, NoLock);
	/* the cut's later statements see the rows, as after the statement */
	CommandCounterIncrement();
	return true;
}
