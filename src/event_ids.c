/*-------------------------------------------------------------------------
 *
 * event_ids.c
 *	  The ids authlog makes: for an attempt the caller sent without a
 *	  log_id, for every event an attempt implies (account_locked, the
 *	  lockout_reset of an expiry or a success) and for every seal.
 *
 *	  Each is a UUID version 7 (RFC 9562): 48 bits of Unix time in
 *	  milliseconds, then 74 bits from pg_strong_random(), drawn a block at
 *	  a time.  Time-ordered, so retention can cut by id, and
 *	  unpredictable, so no caller can send, in
 *	  advance, the id authlog will give a derived event: a derived event is
 *	  only ever written by the call that first records its trigger, so it
 *	  needs no deterministic id to stay single on a retry.  Callers send
 *	  their own log_id (any UUID) for the attempts and resets they record;
 *	  that is their retry key, never authlog's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "authlog_common.h"

/*
 * Random bytes drawn from pg_strong_random() a block at a time and handed
 * out once each: OpenSSL's RAND_bytes costs about as much for a block as
 * for one id's bytes (callgrind: 8.5 k instructions an id, on every
 * record_login).  A byte handed out is wiped from the block.  The block
 * belongs to the process that drew it: one forked from a process that had
 * drawn (the postmaster never does) draws its own before handing out any.
 */
#define RANDOM_BLOCK_BYTES (UUID_LEN * 64)

static uint8 random_block[RANDOM_BLOCK_BYTES];
static int	random_block_used = RANDOM_BLOCK_BYTES;
static int	random_block_pid = 0;

static void
random_bytes(uint8 *out, int len)
{
	Assert(len <= RANDOM_BLOCK_BYTES);
	if (random_block_pid != MyProcPid || random_block_used + len > RANDOM_BLOCK_BYTES)
	{
		if (!pg_strong_random(random_block, RANDOM_BLOCK_BYTES))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random id")));
		random_block_used = 0;
		random_block_pid = MyProcPid;
	}
	memcpy(out, random_block + random_block_used, len);
	explicit_bzero(random_block + random_block_used, len);
	random_block_used += len;
}

void
event_id_random(pg_uuid_t *id)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		unix_ms;
	int			i;

	random_bytes(id->data, UUID_LEN);
	unix_ms = (uint64) (now / 1000) +
		(uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	for (i = 0; i < 6; i++)
		id->data[i] = (uint8) (unix_ms >> (8 * (5 - i)));
	id->data[6] = (id->data[6] & 0x0f) | 0x70;
	id->data[8] = (id->data[8] & 0x3f) | 0x80;
}
