-- Rules on staging.contracts that Great Expectations cannot express (see staging.spend.sql).

-- name: contract_id_unique
-- severity: error
-- why: each contract is counted once; a repeated id would double its value
select contract_id, count(*) as copies from staging.contracts group by 1 having count(*) > 1;
