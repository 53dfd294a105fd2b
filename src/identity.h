/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  Readers' identity decided in PostgreSQL: a compact JWS checked
 *	  against a trusted issuer's keys (jws.c, OpenSSL), and the request it
 *	  opens for the rest of a transaction (request_identity.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <openssl/evp.h>

#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "authlog_common.h"

/* jws.c: a compact JWS, read but not yet trusted */
typedef struct ParsedJws
{
	Jsonb	   *header;
	Jsonb	   *claims;
	char	   *alg;			/* header alg, or NULL */
	char	   *kid;			/* header kid, or NULL */
	uint8	   *signature;
	int			signature_len;
	char	   *signing_input;	/* header.payload, as sent */
} ParsedJws;

extern void jws_parse(const char *token, ParsedJws *jws);
extern void jws_verify(const ParsedJws *jws, Jsonb *jwks, const char *issuer);
extern EVP_PKEY *jwk_public_key(Jsonb *jwk, const char *alg, const char **problem);
extern char *jsonb_string_member(Jsonb *object, const char *key);
extern bool jwks_keys(Jsonb *jwks, List **keys);

/* caller_proof.c: the role a caller_proof() names */
extern PGDLLEXPORT Datum authlog_proven_caller(PG_FUNCTION_ARGS);

/* request_identity.c: a read of a gateway's request, into authlog.access_log */
extern void request_note_access(Oid caller, const char *function_name, Jsonb *arguments, int64 row_count);

/* request_identity.c: reset_lockout's and move_account's check when a gateway calls them */
extern void request_require_helpdesk(text *tenant, text *organisation, text *actor);

#endif							/* IDENTITY_H */
