/*-------------------------------------------------------------------------
 *
 * sha256.c
 *	  SHA-256 of one buffer, with one OpenSSL context for the life of the
 *	  backend.
 *
 *	  The sealer digests every event, record_login fingerprints every
 *	  call, and the mirror digests a dead letter's message between
 *	  transactions, where PostgreSQL's cryptohash would need a resource
 *	  owner lent to it.  A cryptohash context made for each (the digest fetched from
 *	  OpenSSL's provider, the context allocated, remembered by the resource
 *	  owner and freed), and a call into it for every piece of the input,
 *	  cost more than hashing a few hundred bytes (callgrind,
 *	  doc/performance.md).  Callers gather their input into one buffer and
 *	  hash it here in one call, so that the context is never shared by two
 *	  digests in progress; an error between its reset and its final leaves
 *	  nothing behind, since the next call resets it again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "sha256.h"

void
authlog_sha256(const void *data, size_t len, uint8 *digest)
{
	static EVP_MD *sha256;
	static EVP_MD_CTX *ctx;
	unsigned int digest_len;

	if (sha256 == NULL)
	{
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (sha256 == NULL)
			elog(ERROR, "authlog: OpenSSL has no SHA-256");
	}
	if (ctx == NULL)
	{
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
	}
	if (EVP_DigestInit_ex(ctx, sha256, NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 ||
		digest_len != AUTHLOG_SHA256_LEN)
		elog(ERROR, "authlog: could not compute SHA-256");
}
