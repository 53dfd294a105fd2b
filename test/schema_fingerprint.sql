-- The schema the authlog extension made in this database, as sorted lines of
-- text: every member object with its definition, columns, constraints,
-- indexes, triggers, policies, row-level security flags, comments and
-- privileges (in a stable order), and the tables pg_dump carries.  Two databases print the same
-- text exactly when the extension made the same schema in both; the upgrade
-- test (130) compares a fresh install with an updated one this way.
WITH ext AS (
	SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'authlog'
), member AS (
	SELECT d.classid, d.objid
	FROM pg_catalog.pg_depend d, ext
	WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	  AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
	SELECT c.* FROM pg_catalog.pg_class c JOIN member m
	  ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid = c.oid
), line AS (
	-- each member, and its comment
	SELECT pg_catalog.pg_describe_object(m.classid, m.objid, 0) AS l FROM member m
	UNION ALL
	SELECT pg_catalog.pg_describe_object(m.classid, m.objid, 0) || ' comment ' ||
	       pg_catalog.obj_description(m.objid, c.relname)
	FROM member m JOIN pg_catalog.pg_class c ON c.oid = m.classid
	WHERE pg_catalog.obj_description(m.objid, c.relname) IS NOT NULL
	UNION ALL
	-- functions: definition (language, volatility, security, settings) and privileges
	SELECT 'function ' || p.oid::pg_catalog.regprocedure || ' ' ||
	       pg_catalog.pg_get_functiondef(p.oid) || ' acl ' || coalesce((SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.unnest(p.proacl) x), 'default')
	FROM pg_catalog.pg_proc p JOIN member m
	  ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid = p.oid
	WHERE p.prokind <> 'a'
	UNION ALL
	-- relations: kind, flags, options, privileges; views' definitions
	SELECT 'relation ' || r.oid::pg_catalog.regclass || ' kind ' || r.relkind::text ||
	       ' rls ' || r.relrowsecurity || ' force ' || r.relforcerowsecurity ||
	       ' replident ' || r.relreplident::text || ' options ' || coalesce(r.reloptions::text, '') ||
	       ' acl ' || coalesce((SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.unnest(r.relacl) x), 'default') ||
	       CASE WHEN r.relkind = 'v' THEN ' view ' || pg_catalog.pg_get_viewdef(r.oid) ELSE '' END
	FROM rel r
	UNION ALL
	-- columns, in order, with type, default, nullability, comment and privileges
	SELECT 'column ' || r.oid::pg_catalog.regclass || ' ' || a.attnum || ' ' || a.attname || ' ' ||
	       pg_catalog.format_type(a.atttypid, a.atttypmod) || ' notnull ' || a.attnotnull ||
	       ' default ' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '') ||
	       ' identity ' || a.attidentity::text || ' generated ' || a.attgenerated::text ||
	       ' storage ' || a.attstorage::text ||
	       ' comment ' || coalesce(pg_catalog.col_description(r.oid, a.attnum), '') ||
	       ' acl ' || coalesce((SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.unnest(a.attacl) x), 'default')
	FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
	WHERE r.relkind IN ('r', 'p', 'v', 'c')
	UNION ALL
	SELECT 'constraint ' || r.oid::pg_catalog.regclass || ' ' || co.conname || ' ' ||
	       pg_catalog.pg_get_constraintdef(co.oid)
	FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid
	UNION ALL
	SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
	FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
	UNION ALL
	SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
	FROM rel r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
	UNION ALL
	SELECT 'policy ' || p.schemaname || '.' || p.tablename || ' ' || p.policyname || ' ' ||
	       p.permissive || ' ' || p.roles::text || ' ' || p.cmd || ' using ' ||
	       coalesce(p.qual, '') || ' check ' || coalesce(p.with_check, '')
	FROM pg_catalog.pg_policies p WHERE p.schemaname = 'authlog'
	UNION ALL
	-- enum labels, in their order
	SELECT 'enum ' || t.oid::pg_catalog.regtype || ' ' ||
	       (SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
	        FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
	FROM pg_catalog.pg_type t JOIN member m
	  ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND m.objid = t.oid
	WHERE t.typtype = 'e'
	UNION ALL
	SELECT 'schema authlog acl ' || coalesce((SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.unnest(n.nspacl) x), 'default')
	FROM pg_catalog.pg_namespace n WHERE n.nspname = 'authlog'
	UNION ALL
	-- what pg_dump carries of the extension's tables
	SELECT 'config ' || cfg.c::pg_catalog.regclass || ' ' || cond.w
	FROM pg_catalog.pg_extension e,
	     LATERAL unnest(e.extconfig, e.extcondition) AS cfg(c, w0),
	     LATERAL (SELECT coalesce(cfg.w0, '') AS w) cond
	WHERE e.extname = 'authlog'
)
SELECT l FROM line ORDER BY l COLLATE "C";
