/*-------------------------------------------------------------------------
 *
 * event_ids.c
 *	  Event identifiers: random ones for calls that bring none, and ids
 *	  derived from the triggering log_id for the events an attempt implies.
 *
 *	  A derived id is a UUID version 5 (RFC 4122, SHA-1) with the
 *	  triggering log_id as namespace and the event's name as name, so a
 *	  retried call derives the same ids and can never duplicate an event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha1.h"

#include "authlog.h"

void
event_id_random(pg_uuid_t *id)
{
	if (!pg_strong_random(id->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random log_id")));
	id->data[6] = (id->data[6] & 0x0f) | 0x40;
	id->data[8] = (id->data[8] & 0x3f) | 0x80;
}

void
event_id_derived(const pg_uuid_t *trigger, const char *event, pg_uuid_t *id)
{
	pg_cryptohash_ctx *ctx;
	uint8		digest[SHA1_DIGEST_LENGTH];

	ctx = pg_cryptohash_create(PG_SHA1);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, trigger->data, UUID_LEN) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) event, strlen(event)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
	{
		const char *detail = pg_cryptohash_error(ctx);

		pg_cryptohash_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not derive an event id"),
				 errdetail("%s", detail)));
	}
	pg_cryptohash_free(ctx);

	memcpy(id->data, digest, UUID_LEN);
	id->data[6] = (id->data[6] & 0x0f) | 0x50;
	id->data[8] = (id->data[8] & 0x3f) | 0x80;
}
