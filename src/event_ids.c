/*-------------------------------------------------------------------------
 *
 * event_ids.c
 *	  The ids authlog makes: for an attempt the caller sent without a
 *	  log_id, for every event an attempt implies (account_locked, the
 *	  lockout_reset of an expiry or a success) and for every seal.
 *
 *	  Each is a UUID version 7 (RFC 9562): 48 bits of Unix time in
 *	  milliseconds, then 74 bits from pg_strong_random().  Time-ordered, so
 *	  retention can cut by id, and unpredictable, so no caller can send, in
 *	  advance, the id authlog will give a derived event: a derived event is
 *	  only ever written by the call that first records its trigger, so it
 *	  needs no deterministic id to stay single on a retry.  Callers send
 *	  their own log_id (any UUID) for the attempts and resets they record;
 *	  that is their retry key, never authlog's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "authlog_common.h"

void
event_id_random(pg_uuid_t *id)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		unix_ms;
	int			i;

	if (!pg_strong_random(id->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random id")));
	unix_ms = (uint64) (now / 1000) +
		(uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	for (i = 0; i < 6; i++)
		id->data[i] = (uint8) (unix_ms >> (8 * (5 - i)));
	id->data[6] = (id->data[6] & 0x0f) | 0x70;
	id->data[8] = (id->data[8] & 0x3f) | 0x80;
}
