/*-------------------------------------------------------------------------
 *
 * request_fingerprint.c
 *	  What makes a retry a retry: the SHA-256 of every argument a caller
 *	  gave record_login or reset_lockout, in one canonical form.
 *
 *	  A log_id sent again is a retry only if the call is the same call: the
 *	  write path keeps this fingerprint of the first call in
 *	  authlog.request_fingerprints and refuses (SQLSTATE LA001) a later call
 *	  whose fingerprint differs.  The rows themselves cannot be compared
 *	  instead: they do not keep `success` (a refused success is a
 *	  login_failed) nor a user agent longer than authlog.max_user_agent_length.
 *
 *	  Canonical form: "authlog-request-v1", the function's name, then each
 *	  argument in declaration order as one byte (0 absent, 1 present) and,
 *	  when present, a 4-byte big-endian length and the bytes.  Text is its
 *	  bytes in the database encoding as sent (never truncated); inet and the
 *	  auth_path enum their text forms (an enum's OID changes with dump and
 *	  restore, its label does not); metadata the text of its jsonb, which
 *	  jsonb has already normalised (key order, duplicate keys, white space);
 *	  occurred_at its microseconds since 2000-01-01 UTC, big-endian, so that
 *	  one instant written in two time zones is one argument.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bswap.h"

#include "sha256.h"
#include "write_path.h"

void
fingerprint_begin(RequestFingerprint *fp, const char *function)
{
	static const char version[] = "authlog-request-v1";

	initStringInfo(&fp->input);
	fingerprint_add(fp, version, sizeof(version) - 1);
	fingerprint_add(fp, function, strlen(function));
}

static void
fingerprint_update(RequestFingerprint *fp, const void *data, size_t len)
{
	appendBinaryStringInfo(&fp->input, data, len);
}

void
fingerprint_add(RequestFingerprint *fp, const char *data, size_t len)
{
	uint8		present = 1;
	uint32		length = pg_hton32((uint32) len);

	fingerprint_update(fp, &present, 1);
	fingerprint_update(fp, &length, sizeof(length));
	fingerprint_update(fp, data, len);
}

void
fingerprint_add_absent(RequestFingerprint *fp)
{
	uint8		absent = 0;

	fingerprint_update(fp, &absent, 1);
}

void
fingerprint_add_text(RequestFingerprint *fp, const text *value)
{
	if (value == NULL)
		fingerprint_add_absent(fp);
	else
		fingerprint_add(fp, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

void
fingerprint_add_cstring(RequestFingerprint *fp, const char *value)
{
	if (value == NULL)
		fingerprint_add_absent(fp);
	else
		fingerprint_add(fp, value, strlen(value));
}

void
fingerprint_add_timestamptz(RequestFingerprint *fp, bool present, TimestampTz value)
{
	uint64		big_endian = pg_hton64((uint64) value);

	if (!present)
		fingerprint_add_absent(fp);
	else
		fingerprint_add(fp, (const char *) &big_endian, sizeof(big_endian));
}

void
fingerprint_end(RequestFingerprint *fp, uint8 *digest)
{
	StaticAssertStmt(REQUEST_FINGERPRINT_LEN == AUTHLOG_SHA256_LEN,
					 "a fingerprint is a SHA-256");
	authlog_sha256(fp->input.data, fp->input.len, digest);
	pfree(fp->input.data);
	fp->input.data = NULL;
}
