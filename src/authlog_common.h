/*-------------------------------------------------------------------------
 *
 * authlog_common.h
 *	  What every file of authlog may use and no subsystem owns: limits and
 *	  names of the data model, authlog's SQLSTATEs, event ids, and the
 *	  pinned session of its workers and definer functions.
 *
 *	  It includes no subsystem header; each subsystem's header includes it.
 *	  authlog.c, the module's entry, is the only file that includes them all.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUTHLOG_COMMON_H
#define AUTHLOG_COMMON_H

#include "datatype/timestamp.h"
#include "utils/relcache.h"
#include "utils/uuid.h"

/* Microseconds between 1970-01-01 (the store's epoch) and PostgreSQL's, 2000-01-01 */
#define UNIX_TO_POSTGRES_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* Longest tenant, organisation, user or actor id, in characters */
#define AUTHLOG_MAX_ID_LENGTH 256

/* The schema of authlog's tables, the ones the output plugin decodes */
#define AUTHLOG_SCHEMA "authlog"

/*
 * authlog's own SQLSTATE class LA.  LA001: a log_id already recorded was
 * sent with arguments other than those it was recorded with.
 */
#define ERRCODE_AUTHLOG_RETRY_MISMATCH MAKE_SQLSTATE('L','A','0','0','1')
/* LA002: a call named an organisation other than the account's. */
#define ERRCODE_AUTHLOG_ORGANISATION_MISMATCH MAKE_SQLSTATE('L','A','0','0','2')

/* A bytea holding the len bytes at data, palloc'd */
static inline Datum
bytes_to_bytea_datum(const uint8 *data, Size len)
{
	bytea	   *result = (bytea *) palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return PointerGetDatum(result);
}

/* event_ids.c: time-ordered (UUIDv7) ids for what authlog itself writes */
extern void event_id_random(pg_uuid_t *id);

/* table_shape.c: a table its table-AM writers may write without a statement */
extern bool table_has_exactly(Relation rel, int n, const char *const *names, const Oid *types,
							  AttrNumber *attnums);
extern bool table_without_checks(Relation rel);

/* pinned_session.c: the settings authlog's own SQL runs under */
extern void authlog_pin_worker_session(void);
extern int	authlog_pin_settings(void);
extern void authlog_restore_settings(int nest_level);

#endif							/* AUTHLOG_COMMON_H */
