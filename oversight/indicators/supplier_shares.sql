-- marts.supplier_shares (SC03, SC04) per basis x buyer x financial year x supplier, for the
-- (basis, financial year) partitions in the temp table shares_partitions (basis, fy): every
-- partition in a full build, those whose values, names or strategic groups changed in a
-- nightly one (oversight/indicators/shares.py). A partition holds everything its rows depend
-- on: a buyer's year total, and a supplier's income from every buyer that year.
-- Suppliers are resolved entities, market payees only (marts.concentration_values).
-- Needs the registered table strategic (supplier_id, strategic_group). Leaves the rows,
-- unsorted, with their `fy`, in the temp table shares_built.
create or replace temp table shares_built as
with totals as (
    select basis, buyer_id, fy, supplier_id, greatest(value, 0) as value
    from marts.concentration_values v
    semi join shares_partitions p on v.basis = p.basis and v.fy is not distinct from p.fy
    where category_scheme = 'all'
), by_buyer as (
    select basis, buyer_id, fy, sum(value) as buyer_total from totals group by all
), by_supplier as (
    -- buyers_paying counts every buyer with a row, a zero value included
    select basis, supplier_id, fy, sum(value) as income, max(value) as largest,
           count(*) as buyers_paying
    from totals group by all
)
select s.basis, s.buyer_id, b.name as buyer, s.fy || '-' || right((s.fy + 1)::varchar, 2)
           as financial_year,
       s.supplier_id, e.name as supplier, s.value,
       round(s.value / nullif(bb.buyer_total, 0), 4) as share_of_buyer_spend,
       round(bs.largest / nullif(bs.income, 0), 4) as dependency_on_largest_buyer,
       s.value / nullif(bs.income, 0) = bs.largest / nullif(bs.income, 0) as is_largest_buyer,
       bs.buyers_paying, st.strategic_group, s.fy
from totals s
join by_buyer bb using (basis, buyer_id, fy)
join by_supplier bs using (basis, supplier_id, fy)
left join entities.buyers b using (buyer_id)
left join entities.suppliers e using (supplier_id)
left join strategic st using (supplier_id)
where s.value > 0;
