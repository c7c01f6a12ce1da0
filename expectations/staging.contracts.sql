-- Rules on staging.contracts that Great Expectations cannot express (see staging.spend.sql).

-- name: contract_id_unique
-- severity: error
-- why: each contract is counted once; a repeated id would double its value
select contract_id, count(*) as copies from staging.contracts group by 1 having count(*) > 1;

-- name: file_loaded_under_two_names
-- severity: error
-- why: the same register file loaded under two names counts every contract twice; ingest records the copy as a duplicate, so any row here is a bug
select source_id, file_sha256, count(distinct file_path) as paths,
       string_agg(distinct file_path, ', ') as files
from staging.contracts where record_type = 'register'
group by source_id, file_sha256 having count(distinct file_path) > 1;
