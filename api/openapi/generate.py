#!/usr/bin/env python3
"""authlog-api's OpenAPI 3.1 document: edit this, run it, commit both.

openapi.json is what the API serves (go:embed) and what the tests check
against the routes (TestOpenAPIDescribesEveryRoute) and the live answers.
The row schemas are the SQL functions' row types (name:type:notnull, as
pg_attribute lists them); when a type changes in schema/, change it here.
"""
import json
import os

ROW_TYPES = """
access_log|tenant_id:text:true, access_id:uuid:true, accessed_at:timestamp with time zone:true, subject:text:true, request_id:text:false, organisations:text[]:false, roles:text[]:true, gateway:text:true, function_name:text:true, arguments:jsonb:true, row_count:bigint:true
attacking_source|kind:text:false, source:inet:false, addresses:bigint:false, failures:bigint:false, accounts_tried:bigint:false, successes:bigint:false, lockouts_caused:bigint:false, first_seen:timestamp with time zone:false, last_seen:timestamp with time zone:false
compliance_day|day:date:false, event_type:authlog.event_type:false, events:bigint:false, users:bigint:false, ip_addresses:bigint:false, lockouts:bigint:false, resets:bigint:false, admin_resets:bigint:false, reset_by:text[]:false
likely_compromise|user_id:text:false, organisation_id:text:false, success_at:timestamp with time zone:false, success_ip:inet:false, success_user_agent:text:false, success_log_id:uuid:false, failures:bigint:false, failure_ips:inet[]:false, first_failure_at:timestamp with time zone:false, last_failure_at:timestamp with time zone:false, from_failing_ip:boolean:false
lockout_trace_entry|attempt:integer:false, occurred_at:timestamp with time zone:false, ip_address:inet:false, user_agent:text:false, auth_path:authlog.auth_path:false, decision:text:false, log_id:uuid:false, lock_log_id:uuid:false, locked_at:timestamp with time zone:false, locked_until:timestamp with time zone:false, lock_in_force:boolean:false
seal_check|tenant_id:text:false, seal_no:bigint:false, seal_id:uuid:false, sealed_at:timestamp with time zone:false, event_count:integer:false, status:text:false, log_id:uuid:false, detail:text:false
seal_proof|log_id:uuid:false, status:text:false, seal_no:bigint:false, member_index:integer:false, event_digest:bytea:false, seal_digest:bytea:false, anchor_root:bytea:false
targeted_account|user_id:text:false, organisation_id:text:false, failures:bigint:false, refused_by_lock:bigint:false, distinct_ips:bigint:false, lockouts:bigint:false, first_attempt:timestamp with time zone:false, last_attempt:timestamp with time zone:false, success_after_failures:boolean:false
retention_status|tenant_id:text:false, keep:interval:false, oldest_kept_at:timestamp with time zone:false, next_removal_due:timestamp with time zone:false, holds_in_force:bigint:false, last_run_started:timestamp with time zone:false, last_run_finished:timestamp with time zone:false, run_in_progress:boolean:false, last_result:text:false
legal_hold|tenant_id:text:false, hold_id:uuid:false, organisation_id:text:false, user_id:text:false, since:timestamp with time zone:false, until:timestamp with time zone:false, case_ref:text:false, placed_by:text:false, placed_at:timestamp with time zone:false
timeline_entry|occurred_at:timestamp with time zone:false, event_type:authlog.event_type:false, user_id:text:false, organisation_id:text:false, ip_address:inet:false, user_agent:text:false, auth_path:authlog.auth_path:false, decision:text:false, reason:text:false, actor:text:false, failed_login_attempts:integer:false, account_locked_until:timestamp with time zone:false, locked:boolean:false, log_id:uuid:false, recorded_at:timestamp with time zone:false, metadata:jsonb:false
"""
N = lambda t: {"type": [t, "null"]}
def col(t):
    m = {"text": N("string"), "inet": {"type": ["string", "null"], "description": "an IPv4 or IPv6 address or network"},
         "bigint": N("integer"), "integer": N("integer"), "boolean": N("boolean"),
         "timestamp with time zone": {"type": ["string", "null"], "format": "date-time"},
         "date": {"type": ["string", "null"], "format": "date"},
         "interval": {"type": ["string", "null"], "description": "an interval as PostgreSQL prints it (1 year, 6 mons); null: for ever"},
         "uuid": {"type": ["string", "null"], "format": "uuid"},
         "text[]": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
         "inet[]": {"type": ["array", "null"], "items": {"type": ["string", "null"]}},
         "jsonb": {"type": ["object", "null"]},
         "bytea": {"type": ["string", "null"], "pattern": "^\\\\x[0-9a-f]*$", "description": "hex, as PostgreSQL prints bytea"},
         "authlog.event_type": {"type": ["string", "null"], "enum": ["login_failed", "account_locked", "login_success", "lockout_reset", "account_moved", None]},
         "authlog.auth_path": {"type": ["string", "null"], "enum": ["web", "mobile", "api", "sso", None]}}
    return m[t]
types = {}
raw = ROW_TYPES.strip().split('\n')
for line in raw:
    name, cols = line.split('|', 1)
    props = {}
    for c in cols.split(', '):
        n, t, _ = c.split(':')
        props[n] = col(t)
    types[name] = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
types["lockout_status"] = {"type": "object", "additionalProperties": False,
    "properties": {"failed_login_attempts": col("integer"), "account_locked_until": col("timestamp with time zone"), "locked": col("boolean")},
    "required": ["failed_login_attempts", "account_locked_until", "locked"]}

event = {"type": "object", "additionalProperties": False, "properties": {
    "position": {"type": "string", "description": "pass as after to read on from this event"},
    "log_id": {"type": "string", "format": "uuid"},
    "occurred_at": {"type": "string", "format": "date-time"}, "recorded_at": {"type": "string", "format": "date-time"},
    "event_type": col("authlog.event_type"), "organisation_id": {"type": "string"}, "user_id": {"type": "string"},
    "ip_address": col("inet"), "user_agent": col("text"), "auth_path": col("authlog.auth_path"),
    "decision": col("text"), "reason": col("text"), "actor": col("text"),
    "failed_login_attempts": col("integer"), "account_locked_until": col("timestamp with time zone"),
    "metadata": {"type": "object"}}}
event["required"] = list(event["properties"])

ocsf = {"type": "object", "description": "An OCSF 1.5 Authentication event (class 3002).",
        "required": ["category_uid", "class_uid", "activity_id", "type_uid", "severity_id", "status_id", "time", "metadata", "user"],
        "properties": {"category_uid": {"const": 3}, "class_uid": {"const": 3002}, "activity_id": {"type": "integer"},
                       "type_uid": {"type": "integer"}, "severity_id": {"type": "integer"}, "status_id": {"type": "integer"},
                       "time": {"type": "integer"}, "metadata": {"type": "object"}, "user": {"type": "object"}}}

schemas = {
  "Problem": {"type": "object", "description": "RFC 9457 problem details", "required": ["type", "title", "status"],
              "properties": {"type": {"type": "string", "format": "uri"}, "title": {"type": "string"}, "status": {"type": "integer"},
                             "detail": {"type": "string"}, "instance": {"type": "string"}, "sqlstate": {"type": "string"},
                             "hint": {"type": "string"}, "request_id": {"type": "string"}}},
  "Event": event, "OcsfAuthentication": ocsf,
  "SealProof": types.pop("seal_proof"),
  "EventsPage": {"type": "object", "required": ["tenant_id", "events"], "additionalProperties": False, "properties": {
      "tenant_id": {"type": "string"},
      "events": {"type": "array", "items": {"oneOf": [{"$ref": "#/components/schemas/Event"}, {"$ref": "#/components/schemas/OcsfAuthentication"}]}},
      "next": {"type": "string", "description": "the next page; absent at the end of a bounded period"},
      "seal_proofs": {"type": "array", "items": {"$ref": "#/components/schemas/SealProof"}},
      "seal_proofs_unavailable": {"type": "string"}}},
  "UnlockRequest": {"type": "object", "required": ["organisation_id", "reason"], "additionalProperties": False,
      "properties": {"organisation_id": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 1}}},
}
for name, s in types.items():
    schemas[name] = s
def rows(typ, fn, functions=None):
    return {"type": "object", "required": ["tenant_id", "function", "rows"], "additionalProperties": False,
            "properties": {"tenant_id": {"type": "string"},
                           "function": {"enum": functions} if functions else {"const": fn},
                           "rows": {"type": "array", "items": {"$ref": "#/components/schemas/" + typ}}}}
schemas["RetentionRequest"] = {"type": "object", "required": ["keep"], "additionalProperties": False,
    "properties": {"keep": {"type": ["string", "null"], "minLength": 1,
                            "description": "how long the tenant's events are kept, as a PostgreSQL or ISO 8601 interval (\"1 year\", \"P6Y\"); null: authlog.default_retention"}}}
schemas["RetentionAnswer"] = {"type": "object", "required": ["tenant_id", "record_id", "actor", "rows"], "additionalProperties": False,
    "properties": {"tenant_id": {"type": "string"}, "record_id": {"type": "string", "format": "uuid"}, "actor": {"type": "string"},
                   "rows": {"type": "array", "items": {"$ref": "#/components/schemas/retention_status"}}}}
schemas["HoldRequest"] = {"type": "object", "required": ["since", "case_ref"], "additionalProperties": False,
    "properties": {"since": {"type": "string", "format": "date-time"}, "until": {"type": ["string", "null"], "format": "date-time"},
                   "case_ref": {"type": "string", "minLength": 1},
                   "organisation_id": {"type": ["string", "null"], "description": "only this organisation's events"},
                   "user_id": {"type": ["string", "null"], "description": "only this account's events (any spelling the tenant's rule maps to it)"}}}
schemas["ReleaseRequest"] = {"type": "object", "required": ["reason"], "additionalProperties": False,
    "properties": {"reason": {"type": "string", "minLength": 1}}}
schemas["HoldAnswer"] = {"type": "object", "required": ["tenant_id", "hold_id", "actor", "holds"], "additionalProperties": False,
    "properties": {"tenant_id": {"type": "string"}, "hold_id": {"type": "string", "format": "uuid"}, "actor": {"type": "string"},
                   "holds": {"type": "array", "items": {"$ref": "#/components/schemas/legal_hold"}}}}
schemas["UnlockAnswer"] = {"type": "object", "required": ["tenant_id", "log_id", "actor", "lockout"], "additionalProperties": False,
    "properties": {"tenant_id": {"type": "string"}, "log_id": {"type": "string", "format": "uuid"}, "actor": {"type": "string"},
                   "lockout": {"type": "array", "items": {"$ref": "#/components/schemas/lockout_status"}}}}

def problem(desc):
    return {"description": desc, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
common = {"400": problem("a bad parameter or body"), "401": problem("no token, or a token that is refused"),
          "403": problem("the token's scope does not allow it"), "422": problem("too many rows for one answer, or an idempotency key reused for another request"),
          "429": problem("the subject's rate limit; see Retry-After"), "503": problem("the database could not answer in time; retry"),
          "default": problem("an internal error (in the server log under the request id)")}
P = lambda name, desc, schema, required=False: {"name": name, "in": "query", "required": required, "description": desc, "schema": schema}
dt = {"type": "string", "format": "date-time"}
since = P("since", "from (inclusive), RFC 3339", dt, True); until = P("until", "to (exclusive; not before since), RFC 3339", dt, True)
def get(summary, fn, typ, params, desc, functions=None):
    return {"get": {"summary": summary, "description": desc + " (`" + fn + "`)", "operationId": fn.split('.')[1],
                    "parameters": params, "security": [{"bearer": []}],
                    "responses": {"200": {"description": "the function's rows, scoped to the token",
                                          "content": {"application/json": {"schema": rows(typ, fn, functions)}}}, **common}}}
ratehdr = {"RateLimit-Limit": {"schema": {"type": "integer"}}, "RateLimit-Remaining": {"schema": {"type": "integer"}},
           "RateLimit-Reset": {"schema": {"type": "integer"}}}
paths = {
 "/v1/events": {"get": {"summary": "Events, in commit order after a cursor; a poll without until",
   "operationId": "poll_events",
   "description": "authlog.poll_events for the token's tenant and scope. Follow `next` (also in `Link: rel=\"next\"`): without `until` it is a poll that never ends, and every event arrives exactly once, one committed late included. With `until` the period ends with a page shorter than `limit`. `format`: json (default, with seal proofs for a tenant-wide scope), ndjson, ocsf, ocsf-ndjson (OCSF 1.5 Authentication, class 3002).",
   "security": [{"bearer": []}],
   "parameters": [P("after", "the position of the last event received", {"type": "string", "pattern": "^[0-9]{1,19}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}),
                  P("limit", "events per page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                  P("user", "one account (any spelling the tenant's rule maps to it)", {"type": "string", "minLength": 1}),
                  P("ip", "an address or a CIDR network", {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}, {"pattern": "^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}/([0-9]|[12][0-9]|3[0-2])$"}]}),
                  P("type", "event types, comma-separated or repeated", {"type": "array", "items": {"type": "string", "enum": ["login_failed", "account_locked", "login_success", "lockout_reset", "account_moved"]}}),
                  P("organisation", "one organisation", {"type": "string", "minLength": 1}),
                  P("since", "occurred at or after, RFC 3339", dt), P("until", "occurred before, RFC 3339", dt),
                  P("format", "the encoding", {"type": "string", "enum": ["json", "ndjson", "ocsf", "ocsf-ndjson"], "default": "json"})],
   "responses": {"200": {"description": "a page", "headers": {"Link": {"schema": {"type": "string"}}, **ratehdr},
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventsPage"}},
                                      "application/x-ndjson": {"schema": {"type": "string"}}}}, **common}}},
 "/v1/investigation/timeline": get("Every event of a period", "authlog.incident_timeline", "timeline_entry",
     [since, until, P("user", "one account", {"type": "string", "minLength": 1}), P("ip", "one address", {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})], "The campaign event by event"),
 "/v1/investigation/targeted-accounts": get("Accounts under attack", "authlog.targeted_accounts", "targeted_account", [since, until], "Accounts with failures, lockouts and a success after failures"),
 "/v1/investigation/attacking-sources": get("Attacking addresses and networks", "authlog.attacking_ips", "attacking_source",
     [since, until, P("min_failures", "at least this many failures", {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 10})], "Addresses, /24 and /64 networks with the accounts they tried"),
 "/v1/investigation/success-after-failures": get("Likely compromises", "authlog.success_after_failures", "likely_compromise",
     [since, until, P("min_failures", "failures before the success", {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 3}),
      P("within", "how long before the success (ISO 8601 like PT1H, or 1h)", {"type": "string", "pattern": "^(P[1-9][0-9]{0,5}D|PT[1-9][0-9]{0,5}[HMS]|[1-9][0-9]{0,5}[hms])$", "default": "PT1H"})], "Successes that followed failures"),
 "/v1/investigation/lockout-trace": get("Why an account is locked", "authlog.lockout_trace", "lockout_trace_entry",
     [P("user", "the account", {"type": "string", "minLength": 1}, True), P("at", "as of (default now)", dt)], "The attempts that locked the account, step by step"),
 "/v1/investigation/compliance-report": get("Per-day counts for auditors", "authlog.compliance_report", "compliance_day", [since, until], "Events, users, addresses, lockouts and resets per day"),
 "/v1/seals/verification": get("Verify the seals", "authlog.verify_seals", "seal_check",
     [P("since", "seals from (RFC 3339)", dt),
      P("copy", "which copy to check: PostgreSQL's (verify_seals) or the document store's (verify_tenant_store_seals)", {"type": "string", "enum": ["postgresql", "store"], "default": "postgresql"})],
     "Every seal of the tenant checked against the events, in PostgreSQL or in the document store",
     functions=["authlog.verify_seals", "authlog.verify_tenant_store_seals"]),
 "/v1/access-log": get("Who read the tenant's evidence", "authlog.access_entries", "access_log", [since, until],
     "Every read made through a gateway for a request: subject, request id, scope, function, arguments, rows. For a compliance token of the whole tenant"),
 "/v1/accounts/{user}/lockout": get("An account's lockout state now", "authlog.lockout_status", "lockout_status",
     [{"name": "user", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}], "Failures, locked until, locked"),
 "/v1/accounts/{user}/unlock": {"post": {"summary": "Unlock an account (help desk)", "operationId": "reset_lockout",
     "description": "authlog.reset_lockout as the token's subject; needs helpdesk for the account's organisation. Idempotency-Key (a UUID) is the lockout_reset event's log_id: repeat it only to retry.",
     "security": [{"bearer": []}],
     "parameters": [{"name": "user", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}},
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "format": "uuid"}}],
     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UnlockRequest"}}}},
     "responses": {"200": {"description": "the lockout_reset event and the account's state after it",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UnlockAnswer"}}}},
                   "415": problem("the body is not JSON"), **common}}},
 "/v1/records/retention": {
   **get("The tenant's retention and its last run", "authlog.tenant_retention_status", "retention_status", [],
         "How long the tenant's events are kept, the oldest kept, the next removal due, the holds in force and the last retention run. For a records_manager or compliance token of the whole tenant"),
   "put": {"summary": "Set the tenant's retention (records manager)", "operationId": "set_retention",
     "description": "authlog.set_retention as the token's subject, a sealed and mirrored record; needs records_manager for the whole tenant. Events older than the retention are retired by the next retention run unless a legal hold covers them (doc/retention.md).",
     "security": [{"bearer": []}],
     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetentionRequest"}}}},
     "responses": {"200": {"description": "the record and the tenant's retention after it",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetentionAnswer"}}}},
                   "415": problem("the body is not JSON"), **common}}},
 "/v1/records/holds": {
   **get("The tenant's legal holds in force", "authlog.tenant_legal_holds", "legal_hold", [],
         "Each hold: what it covers (organisation, account, [since, until)), its case, who placed it and when. For a records_manager or compliance token of the whole tenant"),
   "post": {"summary": "Place a legal hold (records manager)", "operationId": "place_hold",
     "description": "authlog.place_hold as the token's subject, a sealed and mirrored record; needs records_manager for the whole tenant. Nothing the hold covers (recorded or claiming to have occurred in [since, until)) is retired while it stands. Each call places a hold: a retried request places a second one, which its own release ends.",
     "security": [{"bearer": []}],
     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HoldRequest"}}}},
     "responses": {"201": {"description": "the hold's id and the holds in force",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HoldAnswer"}}}},
                   "415": problem("the body is not JSON"), **common}}},
 "/v1/records/holds/{hold}/release": {"post": {"summary": "Release a legal hold (records manager)", "operationId": "release_hold",
     "description": "authlog.release_hold as the token's subject, a sealed and mirrored record; needs records_manager for the whole tenant. What the hold kept is retired by the next retention run if its retention has passed.",
     "security": [{"bearer": []}],
     "parameters": [{"name": "hold", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReleaseRequest"}}}},
     "responses": {"200": {"description": "the holds in force after the release",
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HoldAnswer"}}}},
                   "404": problem("no hold of the tenant with that id is in force (released, or never placed)"),
                   "415": problem("the body is not JSON"), **common}}},
 "/v1/evidence": {"get": {"summary": "An evidence package for a period", "operationId": "evidence_package",
     "description": "One tar.gz: events.ndjson and events.csv (authlog.export_events), compliance_report.json, seals.json (the seals that cover the events), manifest.json, SHA256SUMS and SHA256SUMS.sig (Ed25519 over SHA256SUMS by the operator's key). Check it with `authlog-api verify-package -key PUB FILE`, or with sha256sum and openssl (doc/api.md).",
     "security": [{"bearer": []}], "parameters": [since, until],
     "responses": {"200": {"description": "the package", "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                           "content": {"application/gzip": {"schema": {"type": "string", "contentEncoding": "binary"}}}},
                   **common}}},
 "/v1/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "security": [],
     "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
 "/healthz": {"get": {"summary": "The process is up", "operationId": "healthz", "security": [],
     "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
 "/readyz": {"get": {"summary": "The database answers and authlog is installed", "operationId": "readyz", "security": [],
     "responses": {"200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object"}}}},
                   "503": problem("not ready")}}},
}
doc = {"openapi": "3.1.0",
       "info": {"title": "authlog-api", "version": "0.1.0",
                "description": "The platform API over authlog: events, investigation, help desk, seals and (records managers) retention and legal holds, each request scoped by PostgreSQL from its bearer token (doc/api.md)."},
       "servers": [{"url": "/"}],
       "security": [{"bearer": []}],
       "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}, "schemas": schemas},
       "paths": paths}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'openapi.json')
with open(out, 'w') as f:
    json.dump(doc, f, indent=1)
    f.write('\n')
