-- links.contract_entries: every published contract entry (a register row, or a notice award
-- not matched to a register row) with the contract it belongs to.
-- A contract is publisher (source) + reference + resolved supplier: lots of one procurement
-- (one reference, several suppliers) are several contracts; a renewal or extension row of one
-- supplier's contract under the same reference is the same contract, with a period of its own.
-- A row with no reference is never grouped on it: it is a contract of its own, except in a
-- source whose files are snapshots (raw.sources.snapshots), where the same supplier, title and
-- start date in two snapshots is one contract. `contract_key` is stable across snapshots.
-- In a snapshot source, a contract's rows in the latest file that lists it replace its
-- earlier rows (`superseded`), and a contract missing from the source's latest file is kept,
-- `no_longer_listed`, with the file it was last listed in.
create or replace table links.contract_entries as
with e as (
    select c.contract_id as entry_id, c.record_type, c.source_id, c.file_path, c.row_number,
           nullif(upper(trim(c.contract_ref)), '') as ref, sm.supplier_id, c.title,
           c.start_date, coalesce(src.snapshots, false) as snapshots
    from staging.contracts c
    left join entities.supplier_mentions sm
           on sm.name is not distinct from c.supplier_name
          and sm.company_number is not distinct from c.supplier_company_number
          and sm.charity_number is not distinct from c.supplier_charity_number
    left join raw.sources src using (source_id)
    where c.contract_id not in (select notice_contract_id from staging.contract_matches)
), keyed as (
    select *,
           case when record_type <> 'register' or supplier_id is null
                     or supplier_id like 'personal:%' then entry_id
                when ref is not null then concat_ws(':', source_id, ref, supplier_id)
                when snapshots then concat_ws(':', source_id, '(no reference)', supplier_id,
                                              md5(concat(lower(trim(coalesce(title, ''))), '|',
                                                         coalesce(start_date::varchar, ''))))
                else entry_id end as contract_key
    from e
), seen as (
    select *, max(file_path) over (partition by contract_key) as last_file,
           max(file_path) over (partition by source_id) as latest_file
    from keyed
)
select entry_id, contract_key, source_id, file_path, row_number, record_type, supplier_id,
       snapshots and file_path < last_file as superseded,
       snapshots and last_file < latest_file as no_longer_listed,
       case when snapshots then last_file end as last_listed_in
from seen
order by contract_key, file_path, row_number;
