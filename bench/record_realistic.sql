-- The realistic mix of issue 22: 90 % successes, 10 % failures, over 100
-- tenants of 2,000 accounts each, so nearly every login updates an account's
-- lockout document in the store.
\set tenant random(1, 100)
\set account random(1, 2000)
\set roll random(1, 10)
SELECT authlog.record_login('mix' || :tenant, 'o1', 'user' || :account, :roll > 1,
                            '198.51.100.7', 'bench', 'web');
