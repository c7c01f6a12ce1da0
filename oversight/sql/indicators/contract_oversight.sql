-- marts.contract_oversight: one row per contract (links.contract_entries.contract_key: source +
-- reference + resolved supplier; its rows are its periods), every OV flag true / false / null (unknown:
-- the data the rule needs is missing), its evidence, and the value at risk. Variables:
-- as_of, act_commenced (the Procurement Act 2023's commencement, 2025-02-24) and the
-- indicators.* parameters (oversight/indicators.py sets them). Needs the registered table
-- source_fields (source_id, field): the canonical columns each source maps.
create schema if not exists marts;
-- Events of each contract, a matched notice's events given to its register entry.
create or replace temp table oversight_events as
select coalesce(mt.register_contract_id, e.contract_id) as contract_id, e.*
    exclude (contract_id)
    from staging.contract_events e
    left join staging.contract_matches mt on mt.notice_contract_id = e.contract_id;

-- One row per contract entry (a register row, a period of a contract), superseded snapshot
-- rows left out; the contract it belongs to is contract_key (links.contract_entries).
create or replace temp table oversight_entries as

with params as (
    select getvariable('as_of')::date as d
), matched as (
    select notice_contract_id, register_contract_id from staging.contract_matches
), base as (
    -- A notice matched to a register entry is that entry: the register row stands for both.
    select c.*, coalesce(mt.notice_contract_id, case when c.record_type = 'notice'
                                                     then c.contract_id end) as notice_id
    from staging.contracts c
    left join matched mt on mt.register_contract_id = c.contract_id
    where c.contract_id not in (select notice_contract_id from matched)
), first_release as (
    select source_id, ocid, min(release_date)::date as first_date
    from raw.releases group by all
), commenced as (
    -- When a notice's procurement commenced: the earliest of its process's first release
    -- (the first notice published under the ocid), its award date and its signature date.
    select n.contract_id as notice_id,
           least(any_value(fr.first_date),
                 min(e.event_date) filter (where e.event_type in ('award', 'contract_signed')))
               as commenced
    from staging.contracts n
    left join first_release fr on fr.source_id = n.source_id and fr.ocid = n.ocid
    left join staging.contract_events e on e.contract_id = n.contract_id
    where n.record_type = 'notice'
    group by 1
), ev as (
    select contract_id,
           max(end_date_after) filter (where event_type in ('change', 'extension'))
               as moved_end,
           count(distinct kpi_id) filter (where event_type = 'kpi_defined') as kpis,
           max(event_date) filter (where event_type = 'performance_rating') as last_rated,
           max_by(rating, event_date) filter (where event_type = 'performance_rating')
               as latest_rating,
           bool_or(event_type = 'termination') as terminated,
           bool_or(event_type = 'extension') as extended,
           max_by(detail, event_date) filter (where event_type = 'no_kpis_reason')
               as kpis_reason,
           count(*) filter (where event_type = 'performance_failure') as failures,
           sum(value_after) filter (where event_type = 'performance_failure') as penalties,
           max(event_date) filter (where event_type = 'performance_failure') as last_failure,
           max(event_date) filter (where event_type = 'completion') as completed,
           max_by(value_after, event_date) filter (where event_type = 'completion')
               as final_value
    from oversight_events group by 1
), has_field as (
    select source_id, list(field) as fields from source_fields group by 1
), spend_cover as (
    -- What spend each buyer publishes, for rules that look at payments.
    select buyer_id, max(payment_date) as last_payment from links.spend_contract group by 1
), c as (
    select b.contract_id, coalesce(ce.contract_key, b.contract_id) as contract_key,
           ce.no_longer_listed, ce.last_listed_in,
           b.record_type, b.source_id, b.contract_ref, b.title, b.buyer_name,
           b.supplier_name, bm.buyer_id, sm.supplier_id, b.notice_id is not null as has_notice,
           b.start_date, b.end_date, b.current_expiry_date, b.review_date, b.contract_owner,
           b.status, b.total_value, b.annual_value,
           coalesce(b.total_value, b.annual_value) as value,
           coalesce(b.category_code, '') || ' ' || coalesce(b.category, '') as category_text,
           b.category_scheme, b.category_code,
           b.supplier_company_number, b.supplier_charity_number, b.supplier_other_id,
           greatest(b.end_date, b.current_expiry_date, ev.moved_end) as effective_end,
           coalesce(ev.kpis, 0) as kpis, ev.last_rated, ev.latest_rating,
           coalesce(ev.terminated, false) as terminated, coalesce(ev.extended, false)
               or b.current_expiry_date > b.end_date as extended,
           ev.kpis_reason, coalesce(ev.failures, 0) as failures, ev.penalties, ev.last_failure,
           ev.completed, ev.final_value, cm.commenced,
           hf.fields, sc.last_payment,
           (params.d) as d
    from base b cross join params
    left join ev using (contract_id)
    left join commenced cm using (notice_id)
    left join has_field hf using (source_id)
    left join entities.buyer_mentions bm on bm.name = b.buyer_name
    left join entities.supplier_mentions sm
           on sm.name is not distinct from b.supplier_name
          and sm.company_number is not distinct from b.supplier_company_number
          and sm.charity_number is not distinct from b.supplier_charity_number
    left join spend_cover sc on sc.buyer_id = bm.buyer_id
    left join links.contract_entries ce on ce.entry_id = b.contract_id
    where not coalesce(ce.superseded, false)
), flags as (
    select *,
           case when start_date is null then null
                when start_date > d then false
                when effective_end is null or effective_end >= d then true
                else false end as live,
           regexp_matches(lower(category_text), '\bworks?\b') or category_code like '45%'
               as is_works
    from c
)
select * from flags;

-- OV07's payments: unlinked payments from the buyer to the supplier after the grace period,
-- each given to the latest-ending contract it follows.
create or replace table marts.expired_payments as

    -- OV07: unlinked payments from the buyer to the supplier after the grace period, each
    -- given to the latest-ending contract it follows.
    -- Periods are a contract's rows: a payment in a gap between two periods of one
    -- contract (a renewal signed late) follows the earlier period, so it counts.
    select f.contract_key as contract_id, f.contract_id as entry_id, l.payment_id,
           l.payment_date, l.amount
    from links.spend_contract l
    join oversight_entries f on f.buyer_id = l.buyer_id and f.supplier_id = l.supplier_id
    where l.contract_id is null and l.payment_date <= f.d
      and l.payment_date > f.effective_end + to_days(getvariable('expired_grace_days'))
    qualify row_number() over (partition by l.payment_id order by f.effective_end desc,
                                                                  f.contract_id) = 1;

-- One row per contract: its rows (periods) together. Values are the total across its rows;
-- live on D when D falls inside one of its periods; the latest row gives its title, review
-- date, owner and status.
create or replace temp table oversight_flags as
select contract_key as contract_id,
       arg_max(record_type, coalesce(start_date, date '1900-01-01')) as record_type,
       any_value(source_id) as source_id,
       arg_max(contract_ref, coalesce(start_date, date '1900-01-01')) as contract_ref,
       arg_max(title, coalesce(start_date, date '1900-01-01')) as title,
       any_value(buyer_name) as buyer_name, any_value(buyer_id) as buyer_id,
       arg_max(supplier_name, coalesce(start_date, date '1900-01-01')) as supplier_name,
       any_value(supplier_id) as supplier_id, bool_or(has_notice) as has_notice,
       min(start_date) as start_date, max(end_date) as end_date,
       max(current_expiry_date) as current_expiry_date,
       arg_max(review_date, coalesce(start_date, date '1900-01-01')) as review_date,
       arg_max(contract_owner, coalesce(start_date, date '1900-01-01')) as contract_owner,
       arg_max(status, coalesce(start_date, date '1900-01-01')) as status,
       sum(total_value) as total_value,
       arg_max(annual_value, coalesce(start_date, date '1900-01-01')) as annual_value,
       coalesce(sum(total_value), arg_max(annual_value, coalesce(start_date, date '1900-01-01')))
           as value,
       any_value(category_scheme) as category_scheme, any_value(category_code) as category_code,
       arg_max(supplier_company_number, coalesce(start_date, date '1900-01-01'))
           as supplier_company_number,
       arg_max(supplier_charity_number, coalesce(start_date, date '1900-01-01'))
           as supplier_charity_number,
       arg_max(supplier_other_id, coalesce(start_date, date '1900-01-01')) as supplier_other_id,
       max(effective_end) as effective_end, sum(kpis) as kpis, max(last_rated) as last_rated,
       arg_max(latest_rating, coalesce(last_rated, date '1900-01-01')) as latest_rating,
       bool_or(terminated) as terminated, bool_or(extended) as extended,
       arg_max(kpis_reason, coalesce(start_date, date '1900-01-01')) as kpis_reason,
       sum(failures) as failures, sum(penalties) as penalties,
       max(last_failure) as last_failure, max(completed) as completed,
       arg_max(final_value, coalesce(completed, date '1900-01-01')) as final_value,
       min(commenced) as commenced,
       -- A notice whose procurement commenced before the Act: its duties do not apply.
       -- Unknown commencement (no dated release, award or signature): treated as under it.
       bool_or(has_notice) and coalesce(min(commenced) < getvariable('act_commenced'), false)
           as pre_act,
       any_value(fields) as fields, any_value(last_payment) as last_payment, any_value(d) as d,
       case when bool_or(live) then true when bool_or(live is null) then null else false end
           as live,
       bool_or(is_works) as is_works,
       count(*) as entries,
       string_agg(coalesce(start_date::varchar, '?') || ' to '
                  || coalesce(effective_end::varchar, 'open'), '; ' order by start_date)
           as periods,
       bool_or(coalesce(no_longer_listed, false)) as no_longer_listed,
       any_value(last_listed_in) as last_listed_in
from oversight_entries
group by contract_key;

create or replace table marts.contract_oversight as
with late as (select * from marts.expired_payments), late_by as (
    select contract_id, sum(amount) as paid_after, count(*) as n,
           string_agg(strftime(payment_date, '%Y-%m-%d') || ' £' || amount::varchar
                      || ' (' || payment_id || ')', '; ' order by payment_date) as detail
    from late group by 1
), paid as (
    -- Payments confidently linked (links.min_confidence): the only ones OV08 counts.
    select contract_key as contract_id, sum(amount) as paid, count(*) as payments,
           max(payment_date) as last_paid
    from links.spend_contract
    where contract_id is not null and score >= getvariable('min_confidence') group by 1
), uncertain as (
    -- Payments that may pay this contract but are not confidently linked (tied with other
    -- contracts, margin or grace with a fuzzy supplier, an invalid period): they can make
    -- OV08 unknown, never true.
    select coalesce(ce.contract_key, t.entry_id) as contract_id, sum(t.amount) as maybe,
           count(distinct t.payment_id) as n
    from (select payment_id, unnest(coalesce(tied_contracts, [contract_id])) as entry_id,
                 amount
          from links.spend_contract
          where contract_id is not null and score < getvariable('min_confidence')) t
    left join links.contract_entries ce using (entry_id)
    group by 1
), after_end as (
    select f.contract_id, count(*) as n, max(l.payment_date) as last_date
    from links.spend_contract l
    join oversight_flags f on f.buyer_id = l.buyer_id and f.supplier_id = l.supplier_id
    where l.payment_date > f.effective_end and l.payment_date <= f.d
    group by 1
), changes as (
    select f.contract_key as contract_id,
           max(e.value_after / nullif(e.value_before, 0) - 1) filter (where not e.has_notice)
               as value_rise,
           max(date_diff('day', f.start_date, e.end_date_after)
               / nullif(date_diff('day', f.start_date, e.end_date_before), 0) - 1)
               filter (where not e.has_notice) as term_rise,
           string_agg(strftime(e.event_date, '%Y-%m-%d') || ' ' || e.event_type || ': '
                      || coalesce(e.value_before::varchar, '?') || ' -> '
                      || coalesce(e.value_after::varchar, '?') || ', end '
                      || coalesce(e.end_date_before::varchar, '?') || ' -> '
                      || coalesce(e.end_date_after::varchar, '?'), '; ')
               filter (where not e.has_notice) as detail,
           count(*) as n
    from oversight_events e join oversight_entries f using (contract_id)
    where e.event_type in ('change', 'extension') group by 1
), pipeline as (
    -- Notices each buyer has published recently (for OV11's successor test).
    select bm.buyer_id, c.category_scheme, left(c.category_code, 2) as division,
           max(c.start_date) as latest_start, count(*) as n
    from staging.contracts c join entities.buyer_mentions bm on bm.name = c.buyer_name
    where c.record_type = 'notice' group by all
), buyer_notices as (
    select buyer_id, max(latest_start) as latest from pipeline group by 1
), basis as (
    -- What OV08 compares with the value: confidently linked payments; on a notice contract
    -- with no payment linked at all (confidently or not), its published final value.
    select f.contract_id,
           case when f.has_notice and f.final_value is not null and p.paid is null
                     and u.maybe is null then 'final value'
                when f.last_payment is not null then 'payments' end as basis,
           case when f.has_notice and f.final_value is not null and p.paid is null
                     and u.maybe is null then f.final_value
                else coalesce(p.paid, 0) end as amount
    from oversight_flags f
    left join paid p using (contract_id)
    left join uncertain u using (contract_id)
)
select f.contract_id, f.record_type, f.source_id, f.contract_ref, f.title, f.buyer_name,
       f.buyer_id, f.supplier_name, f.supplier_id, f.start_date, f.end_date,
       f.current_expiry_date, f.effective_end, f.value, f.live, f.d as as_of,
       f.entries, f.periods, f.no_longer_listed, f.last_listed_in,
       f.commenced as procurement_commenced,
       case when f.has_notice then not f.pre_act end as under_act,
       -- OV01 no review date
       case when not list_contains(f.fields, 'review_date') or f.live is null then null
            when not f.live then false
            when f.value is null then null
            when f.value <= getvariable('review_date_min_value') then false
            else f.review_date is null end as ov01_no_review_date,
       -- OV02 review overdue
       case when not list_contains(f.fields, 'review_date') or f.live is null then null
            when not f.live then false
            when f.review_date is null then null
            else f.review_date < f.d end as ov02_review_overdue,
       case when f.review_date < f.d then 'review date ' || f.review_date::varchar end
           as ov02_evidence,
       -- OV03 no named owner
       case when not list_contains(f.fields, 'contract_owner') or f.live is null then null
            when not f.live then false
            else f.contract_owner is null end as ov03_no_owner,
       -- OV04 KPIs missing (contracts over the threshold published as notices, under the Act)
       case when f.pre_act then false
            when f.value is null then null
            when f.value <= getvariable('kpi_value_threshold') then false
            when not f.has_notice then null
            when f.kpis >= getvariable('min_kpis') then false
            when f.kpis = 0 and f.kpis_reason is not null then false  -- no KPIs, reason given
            else true end as ov04_kpis_missing,
       case when f.pre_act then 'not under the Act'
            when ov04_kpis_missing then 'flagged'
            when ov04_kpis_missing is null then 'unknown'
            when f.value > getvariable('kpi_value_threshold') and f.kpis = 0
                 and f.kpis_reason is not null then 'no KPIs, reason given'
            else 'not flagged' end as ov04_outcome,
       f.kpis || ' KPIs published'
           || coalesce('; reason for no KPIs: ' || f.kpis_reason, '') as ov04_evidence,
       -- OV05 performance notice overdue
       case when f.pre_act then false
            when f.value is null or f.live is null then null
            when f.value <= getvariable('kpi_value_threshold') or not f.live then false
            when not f.has_notice then null
            when f.start_date > f.d - to_days(getvariable('rating_interval_days')) then false
            else coalesce(f.last_rated < f.d - to_days(getvariable('rating_interval_days')),
                          true) end as ov05_rating_overdue,
       case when f.pre_act then 'not under the Act'
            when ov05_rating_overdue then 'flagged'
            when ov05_rating_overdue is null then 'unknown'
            else 'not flagged' end as ov05_outcome,
       'last rated ' || coalesce(f.last_rated::varchar, 'never') as ov05_evidence,
       -- OV06 poor performance: a poor latest rating or a published performance failure
       case when f.pre_act then false
            when f.latest_rating in ('requires improvement', 'inadequate') or f.failures > 0
                 then true
            when f.latest_rating is null then null
            else false end as ov06_poor_performance,
       case when f.pre_act then 'not under the Act'
            when ov06_poor_performance then 'flagged'
            when ov06_poor_performance is null then 'unknown'
            else 'not flagged' end as ov06_outcome,
       nullif(concat_ws('; ',
           case when f.latest_rating is not null
                then 'latest rating ' || f.latest_rating || ' (' || f.last_rated::varchar || ')'
           end,
           case when f.failures > 0
                then f.failures || ' performance failure' || case when f.failures > 1 then 's'
                                                               else '' end
                     || ', last ' || f.last_failure::varchar
                     || coalesce(', penalties £' || f.penalties::varchar, '') end), '')
           as ov06_evidence,
       -- OV07 expired but paid
       case when lb.paid_after is not null then true
            when f.buyer_id is null or f.last_payment is null or f.supplier_id is null
                 then null
            when f.effective_end is null then false
            when f.last_payment <= f.effective_end + to_days(getvariable('expired_grace_days'))
                 then null  -- the spend published so far cannot show it yet
            else false end as ov07_expired_but_paid,
       lb.paid_after as ov07_value_at_risk,
       lb.detail as ov07_evidence,
       -- OV08 paid beyond value (on a notice with no payment linked: its final value)
       case when f.value is null or f.value <= 0 then null
            when bs.basis = 'final value'
                 then f.final_value / f.value > getvariable('overpaid_ratio')
            when f.last_payment is null then null
            when coalesce(p.paid, 0) / f.value > getvariable('overpaid_plausible_ratio')
                 then null  -- many times the value: other agreements, not this one, likely
            when coalesce(p.paid, 0) / f.value > getvariable('overpaid_ratio') then true
            when (coalesce(p.paid, 0) + coalesce(u.maybe, 0)) / f.value
                 > getvariable('overpaid_ratio') then null  -- uncertain links could tip it
            else false end
           as ov08_paid_beyond_value,
       bs.basis as ov08_basis,
       round(bs.amount / nullif(f.value, 0), 4) as ov08_paid_ratio,
       case when bs.amount / nullif(f.value, 0) > getvariable('overpaid_ratio')
            then case when bs.amount / f.value > case when f.is_works
                                 then getvariable('overpaid_band_works')
                                 else getvariable('overpaid_band_goods_services') end
                      then 'beyond change tolerance' else 'within change tolerance' end
       end as ov08_band,
       case when bs.basis = 'final value'
            then case when f.value > 0 and f.final_value > f.value
                      then f.final_value - f.value end
            when p.paid > f.value and p.paid / f.value
                 <= getvariable('overpaid_plausible_ratio') then p.paid - f.value end
           as ov08_value_at_risk,
       case when bs.basis = 'final value'
            then 'final value £' || f.final_value::varchar || ' against £'
                 || coalesce(f.value::varchar, '?')
                 || ' (completion published ' || coalesce(f.completed::varchar, '?')
                 || '; no payment linked)'
            when p.paid / f.value > getvariable('overpaid_plausible_ratio')
            then 'unknown: ' || p.payments || ' linked payments, £' || p.paid::varchar
                 || ' against £' || f.value::varchar || ' (' || round(p.paid / f.value, 1)
                 || 'x): more likely paid under other agreements with this supplier than'
                 || ' overpaid on this one; check the register for them'
            when p.paid > f.value then p.payments || ' linked payments, £' || p.paid::varchar
            || ' against £' || f.value::varchar
            when (coalesce(p.paid, 0) + coalesce(u.maybe, 0)) > f.value
            then 'unknown: £' || coalesce(p.paid, 0)::varchar || ' confidently linked, £'
                 || u.maybe::varchar || ' in ' || u.n || ' payments that may be this'
                 || ' contract''s or another''s, against £' || f.value::varchar end
           as ov08_evidence,
       -- OV09 past end, not closed
       case when f.effective_end is null then false
            when f.effective_end >= f.d - to_days(getvariable('not_closed_days')) then false
            when f.terminated or f.completed is not null or f.extended then false
            when ae.n > 0 or lower(f.status) = 'active' then true
            when f.last_payment is null and f.status is null then null
            else false end as ov09_not_closed,
       case when ae.n > 0 then ae.n || ' payments after the end, last ' || ae.last_date::varchar
            when lower(f.status) = 'active' then 'status still active' end as ov09_evidence,
       -- OV10 change beyond tolerance, no change notice
       case when f.pre_act then false
            when not f.has_notice then null
            when ch.n is null then false
            else coalesce(ch.value_rise > case when f.is_works
                                               then getvariable('change_tolerance_works')
                                               else getvariable('change_tolerance_goods_services')
                                          end, false)
                 or coalesce(ch.term_rise > getvariable('change_tolerance_term'), false)
       end as ov10_change_beyond_tolerance,
       case when f.pre_act then 'not under the Act'
            when ov10_change_beyond_tolerance then 'flagged'
            when ov10_change_beyond_tolerance is null then 'unknown'
            else 'not flagged' end as ov10_outcome,
       ch.detail as ov10_evidence,
       -- OV11 expiring, no pipeline
       case when f.effective_end is null or f.live is null then null
            when not f.live or f.effective_end > f.d + to_months(getvariable('pipeline_months'))
                 then false
            when bn.buyer_id is null then null  -- the buyer publishes no notices
            else coalesce(bn.latest < f.d - to_months(getvariable('pipeline_months')), true)
       end as ov11_no_pipeline,
       -- OV13 value missing
       case when f.live is null then null when not f.live then false
            else f.value is null end as ov13_value_missing,
       -- OV14 supplier unidentified
       case when f.live is null then null when not f.live then false
            when f.record_type = 'register'
                 and not (list_contains(f.fields, 'supplier_company_number')
                          or list_contains(f.fields, 'supplier_charity_number')) then null
            else f.supplier_company_number is null and f.supplier_charity_number is null
                 and f.supplier_other_id is null end as ov14_supplier_unidentified,
       coalesce(lb.paid_after, 0)
           + coalesce(case when bs.basis = 'final value'
                           then case when f.value > 0 then greatest(f.final_value - f.value, 0)
                                end
                           when p.paid / f.value <= getvariable('overpaid_plausible_ratio')
                           then greatest(p.paid - f.value, 0) end, 0) as value_at_risk,
       p.paid as paid_linked
from oversight_flags f
left join late_by lb using (contract_id)
left join paid p using (contract_id)
left join uncertain u using (contract_id)
left join after_end ae using (contract_id)
left join changes ch using (contract_id)
left join buyer_notices bn using (buyer_id)
left join basis bs using (contract_id)
order by f.source_id, f.contract_id;
