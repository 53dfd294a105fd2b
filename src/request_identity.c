/*-------------------------------------------------------------------------
 *
 * request_identity.c
 *	  Who a gateway's request acts for, decided in PostgreSQL: the token
 *	  the identity provider issued, verified here against the keys a
 *	  superuser registered for its issuer, and kept for the rest of the
 *	  transaction only (so pgbouncer's transaction pooling cannot carry it
 *	  to another client).
 *
 *	  authlog.begin_request(token) may be called once per transaction, by
 *	  a role granted with authlog.grant_gateway().  The scope it sets is
 *	  read by authlog.request_scope(role), which the reader functions'
 *	  scope checks and reader_scope (row-level security) consult as they
 *	  consult reader grants; reset_lockout asks request_require_helpdesk().
 *	  The signature itself is jws.c's.  No scope is ever read from anything
 *	  the gateway says but the token.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "identity.h"

PG_FUNCTION_INFO_V1(authlog_begin_request);
PG_FUNCTION_INFO_V1(authlog_request_scope);
PG_FUNCTION_INFO_V1(authlog_check_jwks);
PG_FUNCTION_INFO_V1(authlog_note_access);
PG_FUNCTION_INFO_V1(authlog_records_request);

/* Clock skew allowed between the identity provider and this server */
#define TOKEN_LEEWAY_SECONDS 60

/* The roles a token can give, in the order roles[] lists them */
static const char *const request_role_names[] = {"reader", "helpdesk", "compliance", "operator", "records_manager"};

#define REQUEST_ROLES lengthof(request_role_names)

/* The request begun in this transaction, if any */
typedef struct RequestIdentity
{
	bool		active;
	LocalTransactionId lxid;	/* the transaction it belongs to */
	Oid			gateway;		/* the role that began it */
	char	   *subject;
	char	   *tenant;
	List	   *organisations;	/* NIL: every organisation of the tenant */
	bool		roles[REQUEST_ROLES];
	TimestampTz expires_at;
	char	   *request_id;
	MemoryContext context;
} RequestIdentity;

static RequestIdentity request;
static bool callback_registered = false;

static void
request_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		if (request.context)
			MemoryContextDelete(request.context);
		memset(&request, 0, sizeof(request));
	}
}

static bool
request_in_force(void)
{
	return request.active && request.lxid == MyProc->lxid;
}

static void
refuse(const char *message, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("%s", message),
			 detail ? errdetail("%s", detail) : 0));
}

/*
 * Is role a gateway, by a grant that still names it? (SPI connected)  Not
 * a superuser, who is a member of every role: a DBA acts as herself.
 */
static bool
role_is_gateway(Oid role)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(role)};

	if (superuser_arg(role))
		return false;
	if (SPI_execute_with_args("SELECT 1 FROM authlog.gateways g"
							  " WHERE g.role::pg_catalog.text OPERATOR(pg_catalog.=) g.role_name"
							  " AND pg_catalog.pg_has_role($1, g.role::pg_catalog.oid, 'USAGE') LIMIT 1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read authlog.gateways");
	return SPI_processed > 0;
}

/* A claim holding seconds since 1970, as a timestamp; false when absent */
static bool
time_claim(Jsonb *claims, const char *name, TimestampTz *ts)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&claims->root, name, strlen(name), NULL);
	double		seconds;

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric)
		refuse("the token is malformed", psprintf("Its claim \"%s\" is not a number.", name));
	seconds = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (!isfinite(seconds) || seconds < 0 || seconds > 253402300799.0)
		refuse("the token is malformed", psprintf("Its claim \"%s\" is out of range.", name));
	*ts = (TimestampTz) (seconds * USECS_PER_SEC) - UNIX_TO_POSTGRES_USECS;
	return true;
}

/* The token names audience (aud: a string, or an array holding it) */
static bool
names_audience(Jsonb *claims, const char *audience)
{
	JsonbValue *aud = getKeyJsonValueFromContainer(&claims->root, "aud", 3, NULL);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;

	if (aud == NULL)
		return false;
	if (aud->type == jbvString)
		return aud->val.string.len == (int) strlen(audience) &&
			memcmp(aud->val.string.val, audience, aud->val.string.len) == 0;
	if (aud->type != jbvBinary || !JsonContainerIsArray(aud->val.binary.data))
		return false;
	it = JsonbIteratorInit(aud->val.binary.data);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (token == WJB_ELEM && v.type == jbvString &&
			v.val.string.len == (int) strlen(audience) &&
			memcmp(v.val.string.val, audience, v.val.string.len) == 0)
			return true;
	return false;
}

/* The strings of an array claim; *present false when the claim is absent */
static List *
string_array_claim(Jsonb *claims, const char *name, bool *present)
{
	JsonbValue *value = getKeyJsonValueFromContainer(&claims->root, name, strlen(name), NULL);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken token;
	List	   *strings = NIL;

	*present = value != NULL;
	if (value == NULL)
		return NIL;
	if (value->type != jbvBinary || !JsonContainerIsArray(value->val.binary.data))
		refuse("the token is malformed", psprintf("Its claim \"%s\" is not an array.", name));
	it = JsonbIteratorInit(value->val.binary.data);
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token != WJB_ELEM)
			continue;
		if (v.type != jbvString || v.val.string.len == 0)
			refuse("the token is malformed",
				   psprintf("Its claim \"%s\" holds something other than non-empty strings.", name));
		strings = lappend(strings, pnstrdup(v.val.string.val, v.val.string.len));
	}
	return strings;
}

static void
add_role(RequestIdentity *identity, const char *role)
{
	int			i;

	/* roles of other applications in the same token are not authlog's */
	for (i = 0; i < (int) REQUEST_ROLES; i++)
		if (strcmp(role, request_role_names[i]) == 0)
			identity->roles[i] = true;
}

/*
 * The scope a token claims: by default the claims tenant (a string),
 * organisations (an array; absent: every organisation of the tenant) and
 * roles (an array); for an issuer registered with claims => 'scope', the
 * space-separated scope values authlog:tenant:<t>, authlog:org:<o> and
 * authlog:role:<r>, which providers put in client-credentials tokens.
 */
static void
read_scope(Jsonb *claims, const char *mode, RequestIdentity *identity)
{
	List	   *tenants = NIL;
	bool		has_organisations = false;
	ListCell   *lc;
	int			i;
	bool		any_role = false;

	if (strcmp(mode, "scope") == 0)
	{
		char	   *scope = jsonb_string_member(claims, "scope");
		char	   *word;
		char	   *save = NULL;

		for (word = scope ? strtok_r(scope, " ", &save) : NULL; word; word = strtok_r(NULL, " ", &save))
		{
			if (strncmp(word, "authlog:tenant:", 15) == 0 && word[15])
				tenants = lappend(tenants, pstrdup(word + 15));
			else if (strncmp(word, "authlog:org:", 12) == 0 && word[12])
			{
				has_organisations = true;
				identity->organisations = lappend(identity->organisations, pstrdup(word + 12));
			}
			else if (strncmp(word, "authlog:role:", 13) == 0)
				add_role(identity, word + 13);
		}
	}
	else
	{
		char	   *tenant = jsonb_string_member(claims, "tenant");
		List	   *roles;
		bool		present;

		if (tenant != NULL && tenant[0] != '\0')
			tenants = list_make1(tenant);
		identity->organisations = string_array_claim(claims, "organisations", &has_organisations);
		roles = string_array_claim(claims, "roles", &present);
		foreach(lc, roles)
			add_role(identity, lfirst(lc));
	}
	if (list_length(tenants) != 1)
		refuse(tenants == NIL ? "the token names no tenant" : "the token names more than one tenant",
			   "A request acts for exactly one tenant.");
	identity->tenant = linitial(tenants);
	if (has_organisations && identity->organisations == NIL)
		refuse("the token names an empty list of organisations",
			   "Leave the claim out to mean every organisation of the tenant.");
	for (i = 0; i < (int) REQUEST_ROLES; i++)
		any_role |= identity->roles[i];
	if (!any_role)
		refuse("the token gives no authlog role",
			   "The roles are reader, helpdesk, compliance, operator and records_manager.");
}

/* The trusted issuer's keys, audience and claim mode; an error when it is not trusted */
static void
read_issuer(const char *issuer, Jsonb **jwks, char **audience, char **mode)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(issuer)};
	bool		isnull;

	if (SPI_execute_with_args("SELECT jwks, audience, claims FROM authlog.trusted_issuers"
							  " WHERE issuer OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read authlog.trusted_issuers");
	if (SPI_processed == 0)
		refuse(psprintf("issuer \"%s\" is not trusted", issuer),
			   "A superuser registers an identity provider with authlog.trust_issuer().");
	*jwks = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*audience = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*mode = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
}

/* Verify the token and read what it grants into *identity (SPI connected) */
static void
verify_token(const char *token, RequestIdentity *identity)
{
	ParsedJws	jws;
	char	   *issuer;
	Jsonb	   *jwks;
	char	   *audience;
	char	   *mode;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz ts;
	int64		leeway = (int64) TOKEN_LEEWAY_SECONDS * USECS_PER_SEC;

	jws_parse(token, &jws);
	issuer = jsonb_string_member(jws.claims, "iss");
	if (issuer == NULL)
		refuse("the token names no issuer", NULL);
	read_issuer(issuer, &jwks, &audience, &mode);
	jws_verify(&jws, jwks, issuer);

	/* signed by the issuer: now what it says */
	if (!names_audience(jws.claims, audience))
		refuse(psprintf("the token is not for audience \"%s\"", audience),
			   "Its aud claim must name the audience registered for its issuer.");
	if (!time_claim(jws.claims, "exp", &ts))
		refuse("the token has no expiry", "Tokens without an exp claim are refused.");
	if (ts + leeway < now)
		refuse("the token has expired", psprintf("It expired at %s.", timestamptz_to_str(ts)));
	identity->expires_at = ts;
	if (time_claim(jws.claims, "nbf", &ts) && ts - leeway > now)
		refuse("the token is not valid yet", psprintf("It is valid from %s.", timestamptz_to_str(ts)));
	identity->subject = jsonb_string_member(jws.claims, "sub");
	if (identity->subject == NULL || identity->subject[0] == '\0')
		refuse("the token names no subject", "Its sub claim names the person or client acting.");
	read_scope(jws.claims, mode, identity);
}

static ArrayType *
text_array(List *strings)
{
	Datum	   *elements = palloc(sizeof(Datum) * Max(list_length(strings), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, strings)
		elements[n++] = CStringGetTextDatum(lfirst(lc));
	return construct_array(elements, n, TEXTOID, -1, false, TYPALIGN_INT);
}

static List *
role_list(const RequestIdentity *identity)
{
	List	   *roles = NIL;
	int			i;

	for (i = 0; i < (int) REQUEST_ROLES; i++)
		if (identity->roles[i])
			roles = lappend(roles, (char *) request_role_names[i]);
	return roles;
}

/* Keep the verified identity for the rest of the transaction */
static void
keep_request(RequestIdentity *verified, Oid gateway, const char *request_id)
{
	MemoryContext context = AllocSetContextCreate(TopMemoryContext, "authlog request",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	ListCell   *lc;

	request = *verified;
	request.context = context;
	request.subject = pstrdup(verified->subject);
	request.tenant = pstrdup(verified->tenant);
	request.organisations = NIL;
	foreach(lc, verified->organisations)
		request.organisations = lappend(request.organisations, pstrdup(lfirst(lc)));
	request.request_id = request_id ? pstrdup(request_id) : NULL;
	request.gateway = gateway;
	request.lxid = MyProc->lxid;
	request.active = true;
	MemoryContextSwitchTo(old);
}

/*
 * authlog.begin_request(token, request_id): verify the caller's token and
 * act for it until the transaction ends.  SECURITY DEFINER (it reads the
 * issuers' keys, which nobody else may); the gateway is the role outside.
 */
Datum
authlog_begin_request(PG_FUNCTION_ARGS)
{
	Oid			gateway = GetOuterUserId();
	RequestIdentity verified;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (PG_ARGISNULL(0))
		refuse("the token is missing", "Pass the caller's bearer token.");
	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("begin_request must be called inside a transaction block"),
				 errhint("Start a transaction, call begin_request, then the functions the request needs: the identity ends with the transaction.")));
	if (request_in_force())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("begin_request was already called in this transaction"),
				 errhint("One transaction acts for one token.")));
	if (!callback_registered)
	{
		RegisterXactCallback(request_xact_callback, NULL);
		callback_registered = true;
	}
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "authlog: begin_request must return a composite type");

	memset(&verified, 0, sizeof(verified));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	if (!role_is_gateway(gateway))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not begin requests", GetUserNameFromId(gateway, false)),
				 errhint("A superuser grants it with authlog.grant_gateway().")));
	verify_token(text_to_cstring(PG_GETARG_TEXT_PP(0)), &verified);
	/* copied out before SPI_finish frees what the verification allocated */
	keep_request(&verified, gateway, PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	SPI_finish();

	desc = BlessTupleDesc(desc);
	values[0] = CStringGetTextDatum(request.subject);
	values[1] = CStringGetTextDatum(request.tenant);
	values[2] = PointerGetDatum(text_array(request.organisations));
	nulls[2] = request.organisations == NIL;
	values[3] = PointerGetDatum(text_array(role_list(&request)));
	values[4] = TimestampTzGetDatum(request.expires_at);
	values[5] = request.request_id ? CStringGetTextDatum(request.request_id) : (Datum) 0;
	nulls[5] = request.request_id == NULL;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * authlog.request_scope(role): the request begun in this transaction by
 * role (or by a role it is a member of): one row, or none.
 */
Datum
authlog_request_scope(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			role = PG_GETARG_OID(0);
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (!request_in_force() || !has_privs_of_role(role, request.gateway))
		return (Datum) 0;
	values[0] = CStringGetTextDatum(request.tenant);
	values[1] = PointerGetDatum(text_array(request.organisations));
	nulls[1] = request.organisations == NIL;
	values[2] = PointerGetDatum(text_array(role_list(&request)));
	values[3] = CStringGetTextDatum(request.subject);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static bool
request_has_role(const char *role)
{
	int			i;

	for (i = 0; i < (int) REQUEST_ROLES; i++)
		if (strcmp(role, request_role_names[i]) == 0)
			return request.roles[i];
	return false;
}

static bool
request_covers(const text *tenant, const text *organisation)
{
	ListCell   *lc;
	char	   *org = text_to_cstring(organisation);

	if (strcmp(text_to_cstring(tenant), request.tenant) != 0)
		return false;
	if (request.organisations == NIL)
		return true;
	foreach(lc, request.organisations)
		if (strcmp(lfirst(lc), org) == 0)
			return true;
	return false;
}

/*
 * reset_lockout or move_account called by a gateway (SPI connected): only
 * within a request whose token has helpdesk for the tenant and the
 * organisation (each of them, for a move), and the actor recorded is the
 * token's subject.  Called by anyone else (the auth service, a DBA),
 * nothing changes.
 */
void
request_require_helpdesk(text *tenant, text *organisation, text *actor)
{
	Oid			caller = GetOuterUserId();

	if (!(request_in_force() && has_privs_of_role(caller, request.gateway)))
	{
		if (role_is_gateway(caller))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("a gateway acts for the help desk only within a request"),
					 errhint("Call authlog.begin_request() with the help-desk agent's token first, in the same transaction.")));
		return;
	}
	if (!request_has_role("helpdesk"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the request's token does not have the helpdesk role"),
				 errdetail("Subject \"%s\".", request.subject)));
	if (!request_covers(tenant, organisation))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the request's token does not cover organisation \"%s\" of tenant \"%s\"",
						text_to_cstring(organisation), text_to_cstring(tenant)),
				 errdetail("Subject \"%s\".", request.subject)));
	if (strcmp(text_to_cstring(actor), request.subject) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the actor of a help-desk reset in a request is the token's subject, \"%s\"",
						request.subject)));
}

/*
 * authlog.records_request(writes, actor) -> the tenant whose records (its
 * retention and legal holds) a gateway's request may manage, or NULL for
 * a caller outside any request, whose EXECUTE privilege (a superuser, a
 * role given grant_records_manager) was the check.  Within a request the
 * token must have records_manager (or, to read, compliance) for its whole
 * tenant, and a change's actor is the token's subject.  A gateway outside
 * a request manages nothing.
 */
Datum
authlog_records_request(PG_FUNCTION_ARGS)
{
	bool		writes = PG_GETARG_BOOL(0);
	Oid			caller = GetOuterUserId();

	if (!(request_in_force() && has_privs_of_role(caller, request.gateway)))
	{
		bool		gateway;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "authlog: SPI_connect failed");
		gateway = role_is_gateway(caller);
		SPI_finish();
		if (gateway)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("a gateway manages records only within a request"),
					 errhint("Call authlog.begin_request() with the records manager's token first, in the same transaction.")));
		PG_RETURN_NULL();
	}
	if (!request_has_role("records_manager") && (writes || !request_has_role("compliance")))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg(writes ? "the request's token does not have the records_manager role"
						: "the request's token has neither the records_manager nor the compliance role"),
				 errdetail("Subject \"%s\".", request.subject)));
	if (request.organisations != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("retention and legal holds are a whole tenant's; the request's token covers only some of its organisations"),
				 errdetail("Subject \"%s\".", request.subject)));
	if (writes && (PG_ARGISNULL(1) ||
				   strcmp(text_to_cstring(PG_GETARG_TEXT_PP(1)), request.subject) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the actor of a records manager's change in a request is the token's subject, \"%s\"",
						request.subject)));
	PG_RETURN_TEXT_P(cstring_to_text(request.tenant));
}

/*
 * authlog.check_jwks(jwks): an error naming the first key authlog cannot
 * use; trust_issuer() calls it before it stores a key set.
 */
Datum
authlog_check_jwks(PG_FUNCTION_ARGS)
{
	Jsonb	   *jwks = PG_GETARG_JSONB_P(0);
	List	   *keys;
	List	   *kids = NIL;
	ListCell   *key;
	int			n = 0;

	if (!jwks_keys(jwks, &keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a key set is a JSON object with an array \"keys\" (RFC 7517, 5)")));
	foreach(key, keys)
	{
		Jsonb	   *jwk = lfirst(key);
		char	   *kid;
		char	   *kty;
		const char *alg;
		const char *problem;
		EVP_PKEY   *pkey;
		ListCell   *lc;

		n++;
		if (jwk == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key %d of the key set is not a JSON object", n)));
		kid = jsonb_string_member(jwk, "kid");
		kty = jsonb_string_member(jwk, "kty");
		if (kid == NULL || kid[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key %d of the key set has no kid", n),
					 errhint("Tokens name their key by kid; rotation needs the next key beside the current one.")));
		foreach(lc, kids)
			if (strcmp(lfirst(lc), kid) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the key set has two keys \"%s\"", kid)));
		kids = lappend(kids, kid);
		alg = jsonb_string_member(jwk, "alg");
		if (alg == NULL)
			alg = kty == NULL ? "" : strcmp(kty, "OKP") == 0 ? "EdDSA" :
				strcmp(kty, "EC") == 0 ? "ES256" : strcmp(kty, "RSA") == 0 ? "RS256" : "";
		pkey = jwk_public_key(jwk, alg, &problem);
		if (pkey == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key \"%s\" cannot be used", kid),
					 errdetail("%s.", problem)));
		EVP_PKEY_free(pkey);
	}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the key set has no key")));
	PG_RETURN_VOID();
}


/*
 * Who watched the watchers: every reader function, as it returns, calls
 * note_access with its caller's proof, its name, its arguments and how many
 * rows it returned.  Within a gateway's request that is one row of
 * authlog.access_log (the request's tenant, subject, organisations, roles
 * and id), written in the request's transaction, so a read that cannot be
 * logged fails with it (a read-only transaction reads nothing), and a LOG
 * line, which a rollback does not take back.  Outside a request (the auth
 * service, a DBA's reader role) it does nothing.
 */
void
request_note_access(Oid caller, const char *function_name, Jsonb *arguments, int64 row_count)
{
	pg_uuid_t  *access_id;
	Oid			argtypes[10] = {TEXTOID, UUIDOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTOID, TEXTOID, JSONBOID, INT8OID};
	Datum		values[10];
	char		nulls[10];
	char	   *gateway;
	int			rc;

	if (!request_in_force() || !has_privs_of_role(caller, request.gateway))
		return;
	gateway = GetUserNameFromId(request.gateway, false);

	access_id = palloc(sizeof(pg_uuid_t));
	event_id_random(access_id);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(request.tenant);
	values[1] = UUIDPGetDatum(access_id);
	values[2] = CStringGetTextDatum(request.subject);
	values[3] = request.request_id ? CStringGetTextDatum(request.request_id) : (Datum) 0;
	nulls[3] = request.request_id ? ' ' : 'n';
	values[4] = request.organisations ? PointerGetDatum(text_array(request.organisations)) : (Datum) 0;
	nulls[4] = request.organisations ? ' ' : 'n';
	values[5] = PointerGetDatum(text_array(role_list(&request)));
	values[6] = CStringGetTextDatum(gateway);
	values[7] = CStringGetTextDatum(function_name);
	values[8] = JsonbPGetDatum(arguments);
	values[9] = Int64GetDatum(row_count);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	rc = SPI_execute_with_args(
		"INSERT INTO authlog.access_log (tenant_id, access_id, accessed_at, subject, request_id,"
		" organisations, roles, gateway, function_name, arguments, row_count)"
		" VALUES ($1, $2, pg_catalog.clock_timestamp(), $3, $4, $5, $6, $7, $8, $9, $10)",
		10, argtypes, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "authlog: could not append to authlog.access_log: %s", SPI_result_code_string(rc));
	SPI_finish();

	ereport(LOG,
			(errmsg("authlog access: request \"%s\" of \"%s\" (gateway %s) read " INT64_FORMAT " rows of tenant \"%s\" with %s",
					request.request_id ? request.request_id : "", request.subject, gateway, row_count,
					request.tenant, function_name),
			 errhidestmt(true)));
}

Datum
authlog_note_access(PG_FUNCTION_ARGS)
{
	Oid			caller;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("note_access needs a function name, its arguments and a row count")));
	caller = DatumGetObjectId(DirectFunctionCall1(authlog_proven_caller, PG_GETARG_DATUM(0)));
	request_note_access(caller, text_to_cstring(PG_GETARG_TEXT_PP(1)), PG_GETARG_JSONB_P(2), PG_GETARG_INT64(3));
	PG_RETURN_VOID();
}
