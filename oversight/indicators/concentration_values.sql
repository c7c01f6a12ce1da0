-- What marts.concentration_values is made of (oversight/indicators/indicators.py,
-- build_concentration_values): each supplier's value per basis x buyer x category x
-- financial year (April-March), and per buyer x year (category 'all'), in the temp table
-- value_changes. Suppliers are resolved entities; only the market counts (payee classes in
-- parameters.yaml payees.market_classes, grants left out).
--
-- Basis 'spend' comes from the temp view spend_changes, links.spend_contract's rows with a
-- `change` (+1: a link to count, -1: a link no longer counted). A full build gives it every
-- link with +1; an incremental one the links' changes since the values were last built
-- (links.spend_contract_changes), which are added to the stored values. Basis 'contracted
-- value' is always built in full (contracts are few beside payments): contracts counted once
-- (links.contract_entries: a notice matched to a register entry is that entry), in the
-- financial year they start.
-- `counted` and `valued` are how many payments or contracts (with an amount) a value sums,
-- so that a value whose payments are all gone is removed, as a full build would never make it.
create or replace temp table value_changes as
with pay as (
    select 'spend' as basis, buyer_id, supplier_id, change,
           change * amount as amount,  -- pounds only (links.spend_contract)
           amount is not null as valued,
           year(payment_date - interval 3 month) as fy, category, category_scheme
    from spend_changes
    where buyer_id is not null and supplier_id is not null and is_market
), contracts as (
    -- links.contract_entries: each contract entry with its resolved supplier
    select bm.buyer_id, e.supplier_id, coalesce(c.total_value, c.annual_value) as amount,
           year(c.start_date - interval 3 month) as fy,
           coalesce(c.category, c.category_code) as category,
           case when c.category_scheme is not null then c.category_scheme
                when c.category is not null or c.category_code is not null
                then 'register category' end as category_scheme
    from links.contract_entries e
    join staging.contracts c on c.contract_id = e.entry_id
    join entities.buyer_mentions bm on bm.name = c.buyer_name
    where c.start_date is not null
      and e.supplier_id in (select supplier_id from entities.suppliers
                            where not is_personal
                              and list_contains(getvariable('market_classes'), payee_class))
), counted as (
    from pay
    union all by name
    select 'contracted value' as basis, 1::tinyint as change, true as valued, *
    from contracts where amount is not null
)
-- each category, and every category together ('all'), in one pass
select basis, buyer_id,
       case when grouping(category) = 1 then 'all' else category_scheme end as category_scheme,
       case when grouping(category) = 1 then 'all' else category end as category,
       fy, supplier_id, sum(amount)::decimal(38, 2) as value, sum(change)::bigint as counted,
       coalesce(sum(change) filter (where valued), 0)::bigint as valued
from counted
group by grouping sets ((basis, buyer_id, category_scheme, category, fy, supplier_id),
                        (basis, buyer_id, fy, supplier_id))
having grouping(category) = 1 or category is not null;
