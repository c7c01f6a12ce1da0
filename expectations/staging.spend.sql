-- Rules on staging.spend that Great Expectations cannot express. Each query returns the
-- offending rows; none means the rule holds. Headers: name, severity (error|warn), why, and
-- `per: file` for a rule whose every row names its file (source_id, file_path) and depends on
-- that file's rows alone: it is run on new or re-ingested files only, its findings kept per
-- file (quality.rule_findings).

-- name: lineage_key_unique
-- per: file
-- severity: error
-- why: a payment line loaded twice would be counted twice in every indicator
select source_id, file_path, part, row_number, count(*) as copies
from staging.spend group by all having count(*) > 1;

-- name: amount_repeated_in_over_10pct_of_file
-- per: file
-- severity: warn
-- why: one amount in more than 10% of a file's lines suggests a default or copied value (OCP Pelican)
select source_id, file_path, amount, count(*) as lines, any_value(n) as file_lines
from (select *, count(*) over (partition by source_id, file_path) as n from staging.spend)
group by source_id, file_path, amount
having count(*) > 0.10 * any_value(n) and any_value(n) >= 20;

-- name: transaction_below_threshold
-- per: file
-- severity: warn
-- why: lines are summed by transaction (gross when published, as thresholds apply to it) before the publication threshold is checked; a transaction whose total is under the threshold should not have been published, or its other lines are missing
select s.source_id, s.file_path, s.transaction_id,
       sum(coalesce(s.gross_amount, s.amount)) as total, any_value(t.threshold) as threshold
from staging.spend s join source_thresholds t using (source_id)
where s.transaction_id is not null
group by s.source_id, s.file_path, s.transaction_id
having sum(coalesce(s.gross_amount, s.amount)) > 0
   and sum(coalesce(s.gross_amount, s.amount)) < any_value(t.threshold);

-- name: file_loaded_under_two_names
-- severity: error
-- why: the same bytes loaded under two file names (a second download, `2025-09 (1).csv`) count every payment twice; ingest records the copy as a duplicate, so any row here is a bug
select source_id, file_sha256, count(distinct file_path) as paths,
       string_agg(distinct file_path, ', ') as files
from staging.spend group by source_id, file_sha256 having count(distinct file_path) > 1;
