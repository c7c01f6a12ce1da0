-- marts.off_contract_spend (OV12) and marts.buyer_scorecard: per buyer and as-of date, the
-- count and value behind each indicator, register coverage of spend, concentration headline.
create or replace table marts.off_contract_spend as
with pairs as (
    select distinct bm.buyer_id, sm.supplier_id
    from staging.contracts c
    join entities.buyer_mentions bm on bm.name = c.buyer_name
    join entities.supplier_mentions sm
      on sm.name is not distinct from c.supplier_name
     and sm.company_number is not distinct from c.supplier_company_number
     and sm.charity_number is not distinct from c.supplier_charity_number
    union
    select distinct bm.buyer_id, sm.supplier_id
    from staging.contract_suppliers cs
    join staging.contracts c using (contract_id)
    join entities.buyer_mentions bm on bm.name = c.buyer_name
    join entities.supplier_mentions sm
      on sm.name is not distinct from cs.supplier_name
     and sm.company_number is not distinct from cs.supplier_company_number
     and sm.charity_number is not distinct from cs.supplier_charity_number
), yearly as (
    select l.buyer_id, l.supplier_id, year(l.payment_date - interval 3 month) as fy,
           sum(l.amount) as spend, count(*) as payments,
           min(l.payment_date) as first_payment, max(l.payment_date) as last_payment
    from links.spend_contract l
    -- no contract between them: left out before summing (after, 4.5 s at scale 10; 3.6 s)
    anti join pairs p using (buyer_id, supplier_id)
    where l.buyer_id is not null and l.supplier_id is not null and l.is_market
      and l.payment_date <= getvariable('as_of')
    group by all
)
select y.buyer_id, b.name as buyer, y.supplier_id, s.name as supplier, s.payee_class,
       y.fy || '-' || right((y.fy + 1)::varchar, 2) as financial_year, y.spend, y.payments,
       y.first_payment, y.last_payment, getvariable('as_of')::date as as_of
from yearly y
left join entities.buyers b using (buyer_id)
left join entities.suppliers s using (supplier_id)
where y.spend > getvariable('off_contract_min_spend')
order by b.name, financial_year, y.spend desc;

-- marts.non_market_spend: what off-contract spend and concentration leave out, reported
-- beside them: payments to public bodies, individuals and redacted payees, and grants.
create or replace table marts.non_market_spend as
select l.buyer_id, b.name as buyer,
       year(l.payment_date - interval 3 month) || '-'
           || right((year(l.payment_date - interval 3 month) + 1)::varchar, 2)
           as financial_year,
       case when l.is_grant then 'grant' else coalesce(l.payee_class, 'no supplier') end
           as what,
       count(*) as payments, sum(l.amount) as spend,
       count(distinct l.supplier_id) filter (where l.supplier_id not like 'personal:%')
           as payees,
       first(s.name order by l.amount desc) filter (where l.supplier_id not like 'personal:%')
           as largest_payee,
       getvariable('as_of')::date as as_of
from links.spend_contract l
left join entities.buyers b using (buyer_id)
left join entities.suppliers s using (supplier_id)
where not l.is_market and l.payment_date <= getvariable('as_of')
group by all
order by buyer, financial_year, spend desc;

create or replace table marts.buyer_scorecard as
with o as (
    select * from marts.contract_oversight
), flags as (
    select * from (
        select buyer_id, contract_id, value, ov07_value_at_risk, ov08_value_at_risk,
               ov01_no_review_date as "OV01", ov02_review_overdue as "OV02",
               ov03_no_owner as "OV03", ov04_kpis_missing as "OV04",
               ov05_rating_overdue as "OV05", ov06_poor_performance as "OV06",
               ov07_expired_but_paid as "OV07", ov08_paid_beyond_value as "OV08",
               ov09_not_closed as "OV09", ov10_change_beyond_tolerance as "OV10",
               ov11_no_pipeline as "OV11", ov13_value_missing as "OV13",
               ov14_supplier_unidentified as "OV14",
               ov15_payment_not_published as "OV15" from o
    ) unpivot include nulls (flag for indicator in ("OV01", "OV02", "OV03", "OV04", "OV05",
        "OV06", "OV07", "OV08", "OV09", "OV10", "OV11", "OV13", "OV14", "OV15"))
), per_indicator as (
    select buyer_id, indicator,
           count(*) filter (where flag) as flagged,
           count(*) filter (where flag is null) as unknown,
           sum(case indicator when 'OV07' then ov07_value_at_risk
                              when 'OV08' then ov08_value_at_risk else value end)
               filter (where flag) as value
    from flags group by all
    union all
    select buyer_id, 'OV12', count(*), 0, sum(spend) from marts.off_contract_spend group by all
), coverage as (
    select buyer_id,
           sum(abs(amount)) filter (where contract_id is not null) / nullif(sum(abs(amount)), 0)
               as spend_linked_share,
           sum(amount) as spend
    from links.spend_contract where buyer_id is not null group by 1
), headline as (
    select buyer_id, financial_year, hhi, band, cr3, top_supplier, cr1
    from marts.supplier_concentration
    where basis = 'spend' and category_scheme = 'all'
    qualify row_number() over (partition by buyer_id order by financial_year desc) = 1
), contracts as (
    select buyer_id, count(*) as contracts, count(*) filter (where live) as live_contracts,
           sum(value) filter (where live) as live_value
    from o group by 1
)
select b.buyer_id, b.name as buyer, getvariable('as_of')::date as as_of,
       c.contracts, c.live_contracts, c.live_value,
       cv.spend, round(cv.spend_linked_share, 4) as spend_linked_share,
       h.financial_year as concentration_year, h.hhi, h.band, h.cr1, h.cr3, h.top_supplier,
       i.indicator, coalesce(i.flagged, 0) as flagged, coalesce(i.unknown, 0) as unknown,
       i.value as value
from entities.buyers b
left join contracts c using (buyer_id)
left join coverage cv using (buyer_id)
left join headline h using (buyer_id)
left join per_indicator i using (buyer_id)
where c.buyer_id is not null or cv.buyer_id is not null
order by buyer, i.indicator;
