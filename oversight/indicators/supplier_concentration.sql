-- marts.supplier_concentration (SC01, SC02, SC05, SC06) per basis (spend / contracted value)
-- x buyer x category x financial year (April-March), and per buyer x year (category 'all').
-- marts.supplier_shares (SC03, SC04) per basis x buyer x year x supplier.
-- Suppliers are resolved entities. Only the market counts (links.spend_contract.is_market:
-- payee classes in parameters.yaml payees.market_classes, grants left out); public bodies,
-- individuals, redacted payees and grants are in marts.non_market_spend.
-- Needs the registered table strategic (supplier_id, strategic_group).
create schema if not exists marts;

create or replace temp table concentration_values as
with pay as (
    select l.buyer_id, l.supplier_id, l.amount,  -- pounds only (links.spend_contract)
           year(s.payment_date - interval 3 month) as fy,
           coalesce(s.category, s.expense_type) as category,
           case when s.category is not null then 'procurement category'
                when s.expense_type is not null then 'expense type' end as category_scheme
    from links.spend_contract l
    join staging.spend s using (source_id, file_path, part, row_number)
    where l.buyer_id is not null and l.supplier_id is not null and l.is_market
), contracts as (
    -- Contracts counted once (a notice matched to a register entry is that entry), in the
    -- financial year they start.
    select bm.buyer_id, sm.supplier_id, coalesce(c.total_value, c.annual_value) as amount,
           year(c.start_date - interval 3 month) as fy,
           coalesce(c.category, c.category_code) as category,
           case when c.category_scheme is not null then c.category_scheme
                when c.category is not null or c.category_code is not null
                then 'register category' end as category_scheme
    from staging.contracts c
    join entities.buyer_mentions bm on bm.name = c.buyer_name
    join entities.supplier_mentions sm
      on sm.name is not distinct from c.supplier_name
     and sm.company_number is not distinct from c.supplier_company_number
     and sm.charity_number is not distinct from c.supplier_charity_number
    where c.contract_id not in (select notice_contract_id from staging.contract_matches)
      and c.start_date is not null and not sm.is_personal
      and sm.supplier_id in (select supplier_id from entities.suppliers
                             where list_contains(getvariable('market_classes'), payee_class))
)
select 'spend' as basis, buyer_id, category_scheme, category, fy, supplier_id,
       sum(amount) as value from pay where category is not null group by all
union all
select 'spend', buyer_id, 'all', 'all', fy, supplier_id, sum(amount) from pay group by all
union all
select 'contracted value', buyer_id, category_scheme, category, fy, supplier_id, sum(amount)
from contracts where category is not null and amount is not null group by all
union all
select 'contracted value', buyer_id, 'all', 'all', fy, supplier_id, sum(amount)
from contracts where amount is not null group by all;

create or replace table marts.supplier_concentration as
with ranked as (
    select *, greatest(value, 0) as v,
           greatest(value, 0) / nullif(sum(greatest(value, 0)) over g, 0) as share,
           row_number() over (g order by greatest(value, 0) desc, supplier_id) as rank
    from concentration_values
    window g as (partition by basis, buyer_id, category_scheme, category, fy)
), measures as (
    select basis, buyer_id, category_scheme, category, fy,
           fy || '-' || right((fy + 1)::varchar, 2) as financial_year,
           count(*) filter (where v > 0) as suppliers,
           sum(v) as total,
           round(sum(power(100 * share, 2)), 1) as hhi,
           round(sum(share) filter (where rank = 1), 4) as cr1,
           round(sum(share) filter (where rank <= 3), 4) as cr3,
           round(sum(share) filter (where rank <= 5), 4) as cr5,
           max(supplier_id) filter (where rank = 1) as top_supplier_id,
           round(coalesce(sum(share) filter (where supplier_id in (
               select supplier_id from strategic)), 0), 4) as strategic_share
    from ranked group by all
)
select m.basis, m.buyer_id, b.name as buyer, m.category_scheme, m.category,
       m.financial_year, m.suppliers, m.total, m.hhi, m.cr1, m.cr3, m.cr5,
       m.top_supplier_id, s.name as top_supplier,
       m.suppliers < getvariable('min_suppliers') or m.total < getvariable('min_spend')
           as too_little_data,
       case when m.suppliers < getvariable('min_suppliers')
                 or m.total < getvariable('min_spend') then null
            when m.hhi < getvariable('hhi_moderate') then 'unconcentrated'
            when m.hhi <= getvariable('hhi_high') then 'moderately concentrated'
            else 'highly concentrated' end as band,
       m.strategic_share,
       round(m.hhi - lag(m.hhi) over trend, 1) as hhi_change,
       round(m.cr3 - lag(m.cr3) over trend, 4) as cr3_change
from measures m
left join entities.buyers b using (buyer_id)
left join entities.suppliers s on s.supplier_id = m.top_supplier_id
window trend as (partition by m.basis, m.buyer_id, m.category_scheme, m.category
                 order by m.fy)
order by m.basis desc, b.name, m.category_scheme, m.category, m.financial_year;

create or replace table marts.supplier_shares as
with totals as (
    select basis, buyer_id, fy, supplier_id, greatest(value, 0) as value
    from concentration_values where category_scheme = 'all'
), shares as (
    select *, value / nullif(sum(value) over (partition by basis, buyer_id, fy), 0)
               as share_of_buyer,
           value / nullif(sum(value) over (partition by basis, supplier_id, fy), 0)
               as share_of_supplier_income,
           count(*) over (partition by basis, supplier_id, fy) as buyers_paying
    from totals
)
select s.basis, s.buyer_id, b.name as buyer, s.fy || '-' || right((s.fy + 1)::varchar, 2)
           as financial_year,
       s.supplier_id, e.name as supplier, s.value, round(s.share_of_buyer, 4)
           as share_of_buyer_spend,
       round(max(s.share_of_supplier_income) over (partition by s.basis, s.supplier_id, s.fy),
             4) as dependency_on_largest_buyer,
       s.share_of_supplier_income = max(s.share_of_supplier_income)
           over (partition by s.basis, s.supplier_id, s.fy) as is_largest_buyer,
       s.buyers_paying, st.strategic_group
from shares s
left join entities.buyers b using (buyer_id)
left join entities.suppliers e using (supplier_id)
left join strategic st using (supplier_id)
where s.value > 0
order by s.basis desc, b.name, financial_year, s.value desc;
