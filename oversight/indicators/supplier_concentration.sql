-- marts.supplier_concentration (SC01, SC02, SC05, SC06) per basis (spend / contracted value)
-- x buyer x category x financial year (April-March), and per buyer x year (category 'all');
-- marts.supplier_shares (SC03, SC04) is built after it (supplier_shares.sql, shares.py).
-- Suppliers are resolved entities. Only the market counts (links.spend_contract.is_market:
-- payee classes in parameters.yaml payees.market_classes, grants left out); public bodies,
-- individuals, redacted payees and grants are in marts.non_market_spend.
-- Measured on marts.concentration_values (concentration_values.sql), built first.
-- Needs the registered table strategic (supplier_id, strategic_group).
create schema if not exists marts;

create or replace table marts.supplier_concentration as
with measured as (
    -- per group: the total and HHI from the values, the top five values for CR1/3/5 (ties
    -- do not change a sum of the top n), the top supplier (the largest value, then the
    -- first id)
    select basis, buyer_id, category_scheme, category, fy,
           count(*) filter (where v > 0) as suppliers,
           sum(v) as total,
           sum(v * v) as sum_squares,
           max(v, 5) as top_values,
           max(v) as top_value,
           sum(v) filter (where supplier_id in (select supplier_id from strategic))
               as strategic_value
    from (select *, greatest(value, 0) as v from marts.concentration_values)
    group by all
), top_supplier as (
    select basis, buyer_id, category_scheme, category, fy, min(supplier_id) as top_supplier_id
    from marts.concentration_values c
    join measured m using (basis, buyer_id, category_scheme, category, fy)
    where greatest(c.value, 0) = m.top_value
    group by all
), measures as (
    select basis, buyer_id, category_scheme, category, fy,
           fy || '-' || right((fy + 1)::varchar, 2) as financial_year,
           suppliers, total,
           round(case when total > 0 then 10000 * sum_squares / (total * total) end, 1) as hhi,
           round(top_values[1] / nullif(total, 0), 4) as cr1,
           round(list_sum(top_values[1:3]) / nullif(total, 0), 4) as cr3,
           round(list_sum(top_values[1:5]) / nullif(total, 0), 4) as cr5,
           top_supplier_id,
           round(coalesce(strategic_value / nullif(total, 0), 0), 4) as strategic_share
    from measured join top_supplier using (basis, buyer_id, category_scheme, category, fy)
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
