-- CREATE EXTENSION alone installs the schema, with nothing granted to PUBLIC and every data table dumped by pg_dump.
CREATE EXTENSION authlog;

SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'authlog')
  AND deptype = 'e'
ORDER BY 1;

-- the tables pg_dump carries
SELECT unnest(extconfig)::regclass AS dumped_table
FROM pg_extension WHERE extname = 'authlog' ORDER BY unnest(extconfig)::regclass::text;

-- row-level security is forced on the data tables
SELECT relname, relrowsecurity, relforcerowsecurity
FROM pg_class WHERE relnamespace = 'authlog'::regnamespace AND relkind IN ('r', 'p')
ORDER BY relname;

-- the write functions run as definer with a fixed search_path
SELECT proname, prosecdef, proconfig
FROM pg_proc WHERE pronamespace = 'authlog'::regnamespace
ORDER BY proname;

-- a helper the later tests share: run a statement, report its SQLSTATE and message
CREATE FUNCTION public.try(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
