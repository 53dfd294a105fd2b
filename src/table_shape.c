/*-------------------------------------------------------------------------
 *
 * table_shape.c
 *	  Whether one of authlog's tables is one that its table-AM writers
 *	  (account_row.c, seal_members.c) may write without a statement: the
 *	  columns they know, exactly, and none of the rules a statement would
 *	  apply that they do not.
 *
 *	  Nothing is cached from one call to the next: an ALTER TABLE between
 *	  two would leave it stale.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/rel.h"
#include "utils/rls.h"

#include "authlog_common.h"

/*
 * Exactly these n columns, of these types, found by name; attnums gets
 * each one's number.  A column added (whose default the writer would leave
 * out) or one of another type makes it false.
 */
bool
table_has_exactly(Relation rel, int n, const char *const *names, const Oid *types,
				  AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			columns = 0;

	for (int att = 0; att < desc->natts; att++)
		if (!TupleDescAttr(desc, att)->attisdropped)
			columns++;
	if (columns != n)
		return false;
	for (int i = 0; i < n; i++)
	{
		attnums[i] = InvalidAttrNumber;
		for (int att = 0; att < desc->natts; att++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, att);

			if (!attr->attisdropped && attr->atttypid == types[i] &&
				strcmp(NameStr(attr->attname), names[i]) == 0)
				attnums[i] = attr->attnum;
		}
		if (attnums[i] == InvalidAttrNumber)
			return false;
	}
	return true;
}

/*
 * A plain table with no check constraint and no row-level security in
 * force for the current user: what a statement would check beyond the
 * columns, triggers aside (each writer knows which of them matter to it).
 */
bool
table_without_checks(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	return rel->rd_rel->relkind == RELKIND_RELATION &&
		(constr == NULL || constr->num_check == 0) &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED;
}
