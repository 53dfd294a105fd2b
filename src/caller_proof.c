/*-------------------------------------------------------------------------
 *
 * caller_proof.c
 *	  Who is asking, proven across a SECURITY DEFINER boundary.
 *
 *	  Readers do not query the tables: the investigation functions do, as
 *	  their definer, so that no plan, row count or estimate a reader can see
 *	  depends on rows it may not read (a reader's own quals on the tables
 *	  would run as index conditions before any policy).  Inside a definer
 *	  function current_user is the definer, so each of those functions takes
 *	  a last argument, caller, whose default authlog.caller_proof() is
 *	  evaluated in the calling query, as the calling role: it returns that
 *	  role's OID, the backend's local transaction id, and an HMAC-SHA-256 of
 *	  both under a key drawn from pg_strong_random() when the backend first
 *	  needs it.  authlog.proven_caller() checks the HMAC and the transaction
 *	  and returns the role.  A caller can pass its own proof, never another
 *	  role's: the key never leaves the backend's memory, and a proof dies
 *	  with its transaction.
 *
 *	  This names the role current when the call was made, as row-level
 *	  security would: through SET ROLE, and through another definer's
 *	  function, whose owner is the caller then.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"

#include "authlog_common.h"

PG_FUNCTION_INFO_V1(authlog_caller_proof);
PG_FUNCTION_INFO_V1(authlog_proven_caller);

#define PROOF_KEY_LEN 32
#define PROOF_CLAIM_LEN (sizeof(Oid) + sizeof(LocalTransactionId))
#define PROOF_LEN (PROOF_CLAIM_LEN + PG_SHA256_DIGEST_LENGTH)

static uint8 proof_key[PROOF_KEY_LEN];
static bool proof_key_ready = false;

static void
proof_mac(const uint8 *claim, uint8 *mac)
{
	pg_hmac_ctx *ctx;

	if (!proof_key_ready)
	{
		if (!pg_strong_random(proof_key, PROOF_KEY_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate the key of caller proofs")));
		proof_key_ready = true;
	}
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, proof_key, PROOF_KEY_LEN) < 0 ||
		pg_hmac_update(ctx, claim, PROOF_CLAIM_LEN) < 0 ||
		pg_hmac_final(ctx, mac, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *detail = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a caller proof"),
				 errdetail("%s", detail)));
	}
	pg_hmac_free(ctx);
}

static void
proof_claim(Oid role, LocalTransactionId lxid, uint8 *claim)
{
	memcpy(claim, &role, sizeof(Oid));
	memcpy(claim + sizeof(Oid), &lxid, sizeof(LocalTransactionId));
}

/* authlog.caller_proof(): the current role, proven for this transaction */
Datum
authlog_caller_proof(PG_FUNCTION_ARGS)
{
	bytea	   *proof = palloc(VARHDRSZ + PROOF_LEN);
	uint8	   *data = (uint8 *) VARDATA(proof);

	SET_VARSIZE(proof, VARHDRSZ + PROOF_LEN);
	proof_claim(GetUserId(), MyProc->lxid, data);
	proof_mac(data, data + PROOF_CLAIM_LEN);
	PG_RETURN_BYTEA_P(proof);
}

/* authlog.proven_caller(proof): the role a proof names, or an error */
Datum
authlog_proven_caller(PG_FUNCTION_ARGS)
{
	bytea	   *proof;
	const uint8 *data;
	uint8		expected[PG_SHA256_DIGEST_LENGTH];
	uint8		claim[PROOF_CLAIM_LEN];
	Oid			role;
	uint8		differs = 0;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("caller must not be null"),
				 errhint("Omit the caller argument: its default proves who is calling.")));
	proof = PG_GETARG_BYTEA_PP(0);
	if (VARSIZE_ANY_EXHDR(proof) != PROOF_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("caller is not a proof made by authlog.caller_proof()"),
				 errhint("Omit the caller argument: its default proves who is calling.")));
	data = (const uint8 *) VARDATA_ANY(proof);
	memcpy(&role, data, sizeof(Oid));
	proof_claim(role, MyProc->lxid, claim);
	proof_mac(claim, expected);
	/* constant time: the comparison tells nothing about where it differs */
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		differs |= expected[i] ^ data[PROOF_CLAIM_LEN + i];
	if (differs != 0 || memcmp(claim, data, PROOF_CLAIM_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("caller is not a proof made in this transaction by authlog.caller_proof()"),
				 errhint("Omit the caller argument: its default proves who is calling.")));
	PG_RETURN_OID(role);
}
