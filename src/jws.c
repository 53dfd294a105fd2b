/*-------------------------------------------------------------------------
 *
 * jws.c
 *	  A compact JWS (a signed JWT) read and its signature checked against
 *	  an issuer's JSON Web Key Set, with OpenSSL doing every cryptographic
 *	  step: keys are imported from their JWK members (RFC 7517/7518/8037)
 *	  and signatures checked by EVP_DigestVerify.  EdDSA (Ed25519), ES256
 *	  and RS256; a token's alg must be the key's.
 *
 *	  What the claims mean (issuer, audience, times, scope) is decided by
 *	  request_identity.c; this file only says whether these bytes were
 *	  signed by that key.  Every OpenSSL object is freed before an error is
 *	  raised, so none outlives a failed call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "common/base64.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "identity.h"

static void
token_error(const char *message, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("%s", message),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("The gateway must pass the caller's bearer token as the identity provider issued it.")));
}

/* base64url without padding (RFC 7515, 2), decoded; NULL when it is not that */
static uint8 *
base64url_decode(const char *in, int inlen, int *outlen)
{
	char	   *std;
	int			padded = inlen + (4 - inlen % 4) % 4;
	uint8	   *out;
	int			i;

	if (inlen % 4 == 1)
		return NULL;
	std = palloc(padded + 1);
	for (i = 0; i < inlen; i++)
	{
		char		c = in[i];

		if (c == '+' || c == '/' || c == '=')
			return NULL;
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	for (; i < padded; i++)
		std[i] = '=';
	std[padded] = '\0';
	out = palloc(pg_b64_dec_len(padded) + 1);
	*outlen = pg_b64_decode(std, padded, (char *) out, pg_b64_dec_len(padded));
	pfree(std);
	if (*outlen < 0)
		return NULL;
	return out;
}

/*
 * A JSON object, as jsonb; an error naming the part when it is not one.
 * The text is parsed first by the JSON parser that reports instead of
 * raising, so jsonb_in only ever sees valid JSON.
 */
static Jsonb *
json_object_part(const uint8 *text, int len, const char *part)
{
	char	   *json = palloc(len + 1);
	JsonLexContext *lex;
	Jsonb	   *object;

	memcpy(json, text, len);
	json[len] = '\0';
	lex = makeJsonLexContextCstringLen(json, len, GetDatabaseEncoding(), false);
	if (memchr(text, '\0', len) != NULL || !pg_verifymbstr(json, len, true) ||
		pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		token_error("the token is malformed", psprintf("Its %s is not JSON.", part));
	object = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (!JB_ROOT_IS_OBJECT(object))
		token_error("the token is malformed", psprintf("Its %s is not a JSON object.", part));
	return object;
}

void
jws_parse(const char *token, ParsedJws *jws)
{
	const char *first = strchr(token, '.');
	const char *second = first ? strchr(first + 1, '.') : NULL;
	int			len;
	uint8	   *bytes;

	memset(jws, 0, sizeof(ParsedJws));
	if (first == NULL || second == NULL || strchr(second + 1, '.') != NULL)
		token_error("the token is malformed",
					"A signed JWT has three parts separated by dots (an encrypted one, five, is not accepted).");
	bytes = base64url_decode(token, first - token, &len);
	if (bytes == NULL)
		token_error("the token is malformed", "Its header is not base64url.");
	jws->header = json_object_part(bytes, len, "header");
	bytes = base64url_decode(first + 1, second - first - 1, &len);
	if (bytes == NULL)
		token_error("the token is malformed", "Its payload is not base64url.");
	jws->claims = json_object_part(bytes, len, "payload");
	jws->signature = base64url_decode(second + 1, strlen(second + 1), &jws->signature_len);
	if (jws->signature == NULL)
		token_error("the token is malformed", "Its signature is not base64url.");
	jws->signing_input = pnstrdup(token, second - token);
	jws->alg = jsonb_string_member(jws->header, "alg");
	jws->kid = jsonb_string_member(jws->header, "kid");
}

/* A string member of a jsonb object, or NULL */
char *
jsonb_string_member(Jsonb *object, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&object->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A JWK member holding base64url bytes, of the expected length (0: any) */
static uint8 *
jwk_bytes(Jsonb *jwk, const char *member, int expected, int *len)
{
	char	   *text = jsonb_string_member(jwk, member);
	uint8	   *bytes;

	if (text == NULL)
		return NULL;
	bytes = base64url_decode(text, strlen(text), len);
	if (bytes == NULL || (expected > 0 && *len != expected))
		return NULL;
	return bytes;
}

/*
 * The public key of a JWK, for alg; NULL with *problem when the key is not
 * one of the kinds alg needs (or holds a private part: issuers publish
 * public keys, and a key set carrying a private one is refused).
 */
EVP_PKEY *
jwk_public_key(Jsonb *jwk, const char *alg, const char **problem)
{
	const char *kty = jsonb_string_member(jwk, "kty");
	const char *crv = jsonb_string_member(jwk, "crv");
	EVP_PKEY   *pkey = NULL;
	int			len;
	int			ylen;

	*problem = NULL;
	if (jsonb_string_member(jwk, "d") != NULL || jsonb_string_member(jwk, "p") != NULL)
	{
		*problem = "it holds a private key";
		return NULL;
	}
	if (kty == NULL)
	{
		*problem = "it has no kty";
		return NULL;
	}
	if (strcmp(alg, "EdDSA") == 0)
	{
		uint8	   *x = jwk_bytes(jwk, "x", 32, &len);

		if (strcmp(kty, "OKP") != 0 || crv == NULL || strcmp(crv, "Ed25519") != 0 || x == NULL)
			*problem = "EdDSA needs an OKP key on Ed25519 with a 32-byte x";
		else if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32)) == NULL)
			*problem = "OpenSSL refused its Ed25519 public key";
	}
	else if (strcmp(alg, "ES256") == 0)
	{
		uint8	   *x = jwk_bytes(jwk, "x", 32, &len);
		uint8	   *y = jwk_bytes(jwk, "y", 32, &ylen);

		if (strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0 || x == NULL || y == NULL)
			*problem = "ES256 needs an EC key on P-256 with 32-byte x and y";
		else
		{
			uint8		point[65];
			char		group[] = "prime256v1";
			OSSL_PARAM	params[3];
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

			point[0] = 0x04;	/* uncompressed */
			memcpy(point + 1, x, 32);
			memcpy(point + 33, y, 32);
			params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
			params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
			params[2] = OSSL_PARAM_construct_end();
			if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
				EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
			{
				pkey = NULL;
				*problem = "OpenSSL refused its P-256 point";
			}
			EVP_PKEY_CTX_free(ctx);
		}
	}
	else if (strcmp(alg, "RS256") == 0)
	{
		uint8	   *n = jwk_bytes(jwk, "n", 0, &len);
		uint8	   *e = jwk_bytes(jwk, "e", 0, &ylen);

		if (strcmp(kty, "RSA") != 0 || n == NULL || e == NULL)
			*problem = "RS256 needs an RSA key with n and e";
		else if (len < 256)
			*problem = "its RSA modulus is shorter than 2048 bits";
		else
		{
			BIGNUM	   *bn_n = BN_bin2bn(n, len, NULL);
			BIGNUM	   *bn_e = BN_bin2bn(e, ylen, NULL);
			OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
			OSSL_PARAM *params = NULL;
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

			if (bn_n == NULL || bn_e == NULL || bld == NULL || ctx == NULL ||
				!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
				!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
				(params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
				EVP_PKEY_fromdata_init(ctx) <= 0 ||
				EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
			{
				pkey = NULL;
				*problem = "OpenSSL refused its RSA public key";
			}
			OSSL_PARAM_free(params);
			OSSL_PARAM_BLD_free(bld);
			EVP_PKEY_CTX_free(ctx);
			BN_free(bn_n);
			BN_free(bn_e);
		}
	}
	else
		*problem = "authlog verifies EdDSA, ES256 and RS256 only";
	return pkey;
}

/* ES256's signature is r || s (RFC 7518, 3.4); OpenSSL checks DER */
static uint8 *
es256_der_signature(const uint8 *raw, int raw_len, int *der_len)
{
	ECDSA_SIG  *sig;
	BIGNUM	   *r;
	BIGNUM	   *s;
	unsigned char *der = NULL;
	uint8	   *copy;

	if (raw_len != 64)
		return NULL;
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(raw, 32, NULL);
	s = BN_bin2bn(raw + 32, 32, NULL);
	if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s))
	{
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	*der_len = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);		/* frees r and s */
	if (*der_len <= 0)
		return NULL;
	copy = palloc(*der_len);
	memcpy(copy, der, *der_len);
	OPENSSL_free(der);
	return copy;
}

/* Does the signature hold for the signing input under pkey and alg? */
static bool
signature_holds(EVP_PKEY *pkey, const char *alg, const ParsedJws *jws)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256();
	const uint8 *sig = jws->signature;
	int			sig_len = jws->signature_len;
	bool		holds;

	if (strcmp(alg, "ES256") == 0 &&
		(sig = es256_der_signature(jws->signature, jws->signature_len, &sig_len)) == NULL)
	{
		EVP_MD_CTX_free(ctx);
		return false;
	}
	holds = ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *) jws->signing_input,
						 strlen(jws->signing_input)) == 1;
	EVP_MD_CTX_free(ctx);
	return holds;
}

/*
 * The keys of a JWKS (RFC 7517, 5: an object with an array "keys"), each
 * as jsonb; an element that is not an object is a NULL in the list.  False
 * when the set is not shaped so.
 */
bool
jwks_keys(Jsonb *jwks, List **keys_out)
{
	JsonbValue *keys = getKeyJsonValueFromContainer(&jwks->root, "keys", 4, NULL);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	*keys_out = NIL;
	if (keys == NULL || keys->type != jbvBinary || !JsonContainerIsArray(keys->val.binary.data))
		return false;
	it = JsonbIteratorInit(keys->val.binary.data);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (token == WJB_ELEM)
			*keys_out = lappend(*keys_out, v.type == jbvBinary ? JsonbValueToJsonb(&v) : NULL);
	return true;
}

/* The key of the set the token names (by kid; the only one when it names none) */
static Jsonb *
key_for_token(Jsonb *jwks, const ParsedJws *jws)
{
	List	   *keys;
	ListCell   *lc;

	if (!jwks_keys(jwks, &keys))
		return NULL;
	if (jws->kid == NULL)
		return list_length(keys) == 1 ? linitial(keys) : NULL;
	foreach(lc, keys)
	{
		Jsonb	   *jwk = lfirst(lc);
		char	   *kid = jwk ? jsonb_string_member(jwk, "kid") : NULL;

		if (kid != NULL && strcmp(kid, jws->kid) == 0)
			return jwk;
	}
	return NULL;
}

void
jws_verify(const ParsedJws *jws, Jsonb *jwks, const char *issuer)
{
	Jsonb	   *jwk;
	const char *key_alg;
	const char *problem;
	EVP_PKEY   *pkey;
	bool		holds;

	if (jws->alg == NULL)
		token_error("the token names no alg", NULL);
	if (pg_strcasecmp(jws->alg, "none") == 0)
		token_error("unsigned tokens (alg \"none\") are refused", NULL);
	if (strncmp(jws->alg, "HS", 2) == 0)
		token_error(psprintf("alg \"%s\" is refused: tokens are checked with the issuer's public keys only", jws->alg),
					"An HMAC keyed with a public key is a forgery anyone can make.");
	if (strcmp(jws->alg, "EdDSA") != 0 && strcmp(jws->alg, "ES256") != 0 &&
		strcmp(jws->alg, "RS256") != 0)
		token_error(psprintf("alg \"%s\" is not accepted", jws->alg),
					"authlog accepts EdDSA (Ed25519), ES256 and RS256.");
	jwk = key_for_token(jwks, jws);
	if (jwk == NULL)
		token_error(jws->kid ? psprintf("issuer \"%s\" has no key \"%s\"", issuer, jws->kid)
					: psprintf("the token names no kid, and issuer \"%s\" has more than one key", issuer),
					"A superuser registers the issuer's current keys with authlog.trust_issuer().");
	key_alg = jsonb_string_member(jwk, "alg");
	if (key_alg != NULL && strcmp(key_alg, jws->alg) != 0)
		token_error(psprintf("key \"%s\" of issuer \"%s\" is for alg \"%s\", not \"%s\"",
							 jws->kid ? jws->kid : "", issuer, key_alg, jws->alg), NULL);
	pkey = jwk_public_key(jwk, jws->alg, &problem);
	if (pkey == NULL)
		token_error(psprintf("key \"%s\" of issuer \"%s\" cannot check an %s signature",
							 jws->kid ? jws->kid : "", issuer, jws->alg), problem);
	holds = signature_holds(pkey, jws->alg, jws);
	EVP_PKEY_free(pkey);
	if (!holds)
		token_error("the token's signature does not verify",
					psprintf("It is not signed by key \"%s\" of issuer \"%s\", or it was altered.",
							 jws->kid ? jws->kid : "", issuer));
}
