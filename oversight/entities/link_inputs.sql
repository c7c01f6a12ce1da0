-- What links.spend_contract is computed from (links.input_*; spend_contract.sql reads them).
-- An incremental link build (oversight/entities/links.py) compares each with the one the
-- stored links were computed from (links.built_from_*, the inputs of the last build, renamed):
-- a payment is linked again only when its file, its supplier or buyer mention, or the
-- contracts of its buyer-supplier pair changed. They are tables, not temp tables: DuckDB
-- keeps temp tables in its memory, which the linking query needs at scale.
create or replace table links.superseded_files as
-- A spend file republished under a new name (the source declares period_from_name): for
-- each period the file whose name adds most to the original (2025-09-corrected.csv,
-- 2025-09-v2.csv after 2025-09.csv; then the last by name) supersedes the others, whose
-- payments are not linked or counted (they stay in staging.spend, with their lineage).
select f.source_id, f.file_path, regexp_extract(f.file_path, s.period_from_name, 1) as period,
       arg_max(f.file_path, lpad(length(f.file_path)::varchar, 6, '0') || f.file_path)
           over (partition by f.source_id, regexp_extract(f.file_path, s.period_from_name, 1))
           as superseded_by
from raw.files f join raw.sources s using (source_id)
where s.period_from_name is not null and f.status in ('loaded', 'nothing_loaded')
  and regexp_extract(f.file_path, s.period_from_name, 1) <> ''
qualify f.file_path <> superseded_by;

-- links.input_contracts: every contract entry a payment can be linked to, with its resolved buyer and
-- supplier and its window.
create or replace table links.input_contracts as
with parties as (
    select contract_id, supplier_name, supplier_company_number, supplier_charity_number
    from staging.contracts where record_type = 'register'
    union all
    select contract_id, supplier_name, supplier_company_number, supplier_charity_number
    from staging.contract_suppliers
), moved as (
    select coalesce(m.register_contract_id, e.contract_id) as contract_id,
           max(e.end_date_after) as moved_end
    from staging.contract_events e
    left join staging.contract_matches m on m.notice_contract_id = e.contract_id
    where e.event_type in ('change', 'extension')
    group by 1
)
select c.contract_id, ce.contract_key, c.contract_ref,
       b.buyer_id, m.supplier_id, m.score as supplier_score, c.start_date,
       greatest(c.end_date, c.current_expiry_date, moved.moved_end) as effective_end,
       coalesce(c.total_value, c.annual_value) as value
from staging.contracts c
join parties p using (contract_id)
left join entities.buyer_mentions b on b.name = c.buyer_name
left join entities.supplier_mentions m
       on m.name is not distinct from p.supplier_name
      and m.company_number is not distinct from p.supplier_company_number
      and m.charity_number is not distinct from p.supplier_charity_number
left join moved using (contract_id)
left join links.contract_entries ce on ce.entry_id = c.contract_id
where c.contract_id not in (select notice_contract_id from staging.contract_matches)
  and not coalesce(ce.superseded, false)  -- an earlier snapshot's row of a contract
  and c.start_date is not null and not coalesce(m.is_personal, false);

-- links.input_mentions: what a payment's supplier mention brings to its link (the resolved
-- supplier, its score, and the payee class: the mention's own for a personal payee, else
-- its supplier's).
create or replace table links.input_mentions as
select m.name, m.company_number, m.charity_number, m.supplier_id, m.is_personal, m.score,
       case when m.is_personal then m.payee_class else sup.payee_class end as payee_class
from entities.supplier_mentions m
left join entities.suppliers sup on sup.supplier_id = m.supplier_id;

create or replace table links.input_buyers as
select name, buyer_id from entities.buyer_mentions;

-- links.input_files: each spend file whose payments are linked (superseded files are not), with a
-- hash of the columns linking reads from its rows: a file read again with other rows, or
-- rows changed in place, is linked again.
create or replace table links.input_files as
select source_id, file_path, count(*) as payments,
       sum(hash(row(part, row_number, payment_date, amount, currency, buyer_name,
                    supplier_name, supplier_company_number, supplier_charity_number,
                    contract_ref, expense_type, category))::hugeint) as content
from staging.spend
where (source_id, file_path) not in (select source_id, file_path from links.superseded_files)
group by all;
