-- A contract in a council's register that is also published as a notice is one contract.
-- Rule: same buyer and same supplier, and either the same reference or a value within 1% and
-- start dates within 31 days. Suppliers with two different company numbers never match.
-- Each notice matches at most one register entry: the reference rule first, then the closest
-- start date, then the closest value.
create or replace temp macro buyer_key(s) as (
    regexp_replace(
        regexp_replace(lower(coalesce(s, '')),
                       '\b(the|of|council|city|borough|metropolitan|district|county|mbc|mdc)\b',
                       '', 'g'),
        '[^a-z0-9]', '', 'g')
);
create or replace temp macro supplier_key(s) as (
    regexp_replace(
        regexp_replace(replace(lower(coalesce(s, '')), '&', ' and '),
                       '\b(limited|ltd|plc|llp|lp|uk)\b\.?', '', 'g'),
        '[^a-z0-9]', '', 'g')
);

create or replace table staging.contract_matches as
with register as (
    select * from staging.contracts where record_type = 'register'
), notice as (
    select * from staging.contracts where record_type = 'notice'
), candidates as (
    select r.contract_id as register_contract_id, n.contract_id as notice_contract_id,
           r.source_id as register_source_id, n.source_id as notice_source_id,
           case when r.contract_ref is not null
                     and lower(trim(r.contract_ref)) = lower(trim(n.contract_ref))
                then 'reference' else 'value_and_dates' end as rule,
           abs(date_diff('day', r.start_date, n.start_date)) as start_gap_days,
           abs(r.total_value - n.total_value) as value_gap,
           format('buyer {} ~ {}; supplier {} ~ {} ({}); reference {} / {}; value {} / {}; '
                  'start {} / {}',
                  r.buyer_name, n.buyer_name, r.supplier_name, n.supplier_name,
                  case when r.supplier_company_number = n.supplier_company_number
                       then 'company ' || r.supplier_company_number else 'same name' end,
                  r.contract_ref, n.contract_ref, r.total_value, n.total_value,
                  r.start_date, n.start_date) as evidence
    from register r
    join notice n on buyer_key(r.buyer_name) = buyer_key(n.buyer_name)
     and buyer_key(r.buyer_name) <> ''
     and (case when r.supplier_company_number is not null
                    and n.supplier_company_number is not null
               then r.supplier_company_number = n.supplier_company_number
               else supplier_key(r.supplier_name) = supplier_key(n.supplier_name)
                    and supplier_key(r.supplier_name) <> '' end)
     and ((r.contract_ref is not null
           and lower(trim(r.contract_ref)) = lower(trim(n.contract_ref)))
          or (abs(r.total_value - n.total_value) <= 0.01 * greatest(r.total_value, n.total_value)
              and abs(date_diff('day', r.start_date, n.start_date)) <= 31))
)
select register_contract_id, notice_contract_id, register_source_id, notice_source_id, rule,
       start_gap_days, value_gap, evidence
from candidates
qualify row_number() over (
    partition by notice_contract_id
    order by rule = 'reference' desc, start_gap_days nulls last, value_gap nulls last,
             register_contract_id) = 1
order by register_contract_id, notice_contract_id;
