-- marts.contract_oversight: one row per contract (links.contract_entries.contract_key: source +
-- reference + resolved supplier; its rows are its periods), every OV flag true / false / null (unknown:
-- the data the rule needs is missing), its evidence, and the value at risk. Variables:
-- as_of, act_commenced (the Procurement Act 2023's commencement, 2025-02-24), s71_in_force
-- (2026-01-01), s70_in_force (2026-04-01), carve_outs_s52 / _s71 / _s75 / _s70 (the carve-outs
-- that lift each duty, indicators.ACT_CARVE_OUTS) and the indicators.* parameters
-- (oversight/indicators/indicators.py sets them). Needs the registered table source_fields (source_id,
-- field): the canonical columns each source maps.
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
), base as materialized (
    -- A notice matched to a register entry is that entry: the register row stands for both.
    -- Its contract and resolved supplier (links.contract_entries) are joined here, before the
    -- other lookups (c): joined together with them, DuckDB went past 1 GB at scale 10.
    select c.*, coalesce(mt.notice_contract_id, case when c.record_type = 'notice'
                                                     then c.contract_id end) as notice_id,
           coalesce(ce.contract_key, c.contract_id) as contract_key, ce.no_longer_listed,
           ce.last_listed_in, ce.supplier_id as resolved_supplier_id
    from staging.contracts c
    left join matched mt on mt.register_contract_id = c.contract_id
    left join links.contract_entries ce on ce.entry_id = c.contract_id
    where c.contract_id not in (select notice_contract_id from matched)
      and not coalesce(ce.superseded, false)
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
), notice_facts as (
    -- What a notice row adds to the contract it stands for (itself, or its register entry):
    -- its process, its carve-outs and the CPV division of what it buys (OV11).
    select contract_id as notice_id, ocid as notice_ocid, act_carve_outs,
           case when coalesce(upper(category_scheme), 'CPV') = 'CPV'
                     and regexp_matches(coalesce(category_code, ''), '^\d{2}')
                then left(category_code, 2) end as cpv_division
    from staging.contracts where record_type = 'notice'
), ev as (
    select contract_id,
           max(end_date_after) filter (where event_type in ('change', 'extension'))
               as moved_end,
           count(distinct kpi_id) filter (where event_type = 'kpi_defined') as kpis,
           max(event_date) filter (where event_type = 'performance_rating') as last_rated,
           -- the contract details notice (UK7): its KPIs or its reason for none
           min(event_date) filter (where event_type in ('kpi_defined', 'no_kpis_reason'))
               as details_published,
           max(event_date) filter (where event_type = 'termination') as terminated_on,
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
    -- What each source publishes, as the flags below ask it: four flags on each contract
    -- row rather than the list of its fields
    select source_id,
           {'review_date': bool_or(field = 'review_date'),
            'owner': bool_or(field = 'contract_owner'),
            'company_number': bool_or(field = 'supplier_company_number'),
            'charity_number': bool_or(field = 'supplier_charity_number')} as publishes
    from source_fields group by 1
), spend_cover as (
    -- What spend each buyer publishes, for rules that look at payments.
    select buyer_id, max(payment_date) as last_payment from links.spend_contract group by 1
), c as (
    select b.contract_id, b.contract_key, b.no_longer_listed, b.last_listed_in,
           b.record_type, b.source_id, b.contract_ref, b.title, b.buyer_name,
           -- the order rows are "latest" in: by start, then (two rows starting the same
           -- day, a contract and its extension) the later row of the register
           coalesce(b.start_date, date '1900-01-01') as latest_start, b.file_path as latest_file,
           b.row_number as latest_row,
           b.supplier_name, bm.buyer_id, b.resolved_supplier_id as supplier_id,
           b.notice_id is not null as has_notice,
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
           ev.completed, ev.final_value, cm.commenced, ev.details_published,
           ev.terminated_on, nf.notice_ocid, nf.act_carve_outs, nf.cpv_division,
           hf.publishes, sc.last_payment,
           (params.d) as d
    from base b cross join params
    left join ev using (contract_id)
    left join commenced cm using (notice_id)
    left join notice_facts nf using (notice_id)
    left join has_field hf using (source_id)
    left join entities.buyer_mentions bm on bm.name = b.buyer_name
    left join spend_cover sc on sc.buyer_id = bm.buyer_id
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
-- latest_rank: the row's place in its contract by that order (1 first, the entry id last),
-- an integer for the arg_max calls below: ordering them by the (date, file, row) triple
-- itself took 60% of their time
select * exclude (latest_start, latest_file, latest_row),
       row_number() over (partition by contract_key
                          order by latest_start, latest_file, latest_row, contract_id)
           as latest_rank
from flags;

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
with per_contract as (
select contract_key as contract_id,
       arg_max(record_type, latest_rank) as record_type,
       any_value(source_id) as source_id,
       arg_max(contract_ref, latest_rank) as contract_ref,
       arg_max(title, latest_rank) as title,
       any_value(buyer_name) as buyer_name, any_value(buyer_id) as buyer_id,
       arg_max(supplier_name, latest_rank) as supplier_name,
       any_value(supplier_id) as supplier_id, bool_or(has_notice) as has_notice,
       min(start_date) as start_date, max(end_date) as end_date,
       max(current_expiry_date) as current_expiry_date,
       arg_max(review_date, latest_rank) as review_date,
       arg_max(contract_owner, latest_rank) as contract_owner,
       arg_max(status, latest_rank) as status,
       sum(total_value) as total_value,
       arg_max(annual_value, latest_rank) as annual_value,
       coalesce(sum(total_value), arg_max(annual_value, latest_rank))
           as value,
       any_value(category_scheme) as category_scheme, any_value(category_code) as category_code,
       arg_max(supplier_company_number, latest_rank)
           as supplier_company_number,
       arg_max(supplier_charity_number, latest_rank)
           as supplier_charity_number,
       arg_max(supplier_other_id, latest_rank) as supplier_other_id,
       max(effective_end) as effective_end, sum(kpis) as kpis, max(last_rated) as last_rated,
       arg_max(latest_rating, coalesce(last_rated, date '1900-01-01')) as latest_rating,
       bool_or(terminated) as terminated, bool_or(extended) as extended,
       arg_max(kpis_reason, latest_rank) as kpis_reason,
       sum(failures) as failures, sum(penalties) as penalties,
       max(last_failure) as last_failure, max(completed) as completed,
       arg_max(final_value, coalesce(completed, date '1900-01-01')) as final_value,
       min(commenced) as commenced,
       -- A notice whose procurement commenced before the Act: its duties do not apply.
       -- Unknown commencement (no dated release, award or signature): treated as under it.
       bool_or(has_notice) and coalesce(min(commenced) < getvariable('act_commenced'), false)
           as pre_act,
       any_value(publishes) as publishes, any_value(last_payment) as last_payment,
       any_value(d) as d,
       case when bool_or(live) then true when bool_or(live is null) then null else false end
           as live,
       bool_or(is_works) as is_works,
       count(*) as entries,
       string_agg(coalesce(start_date::varchar, '?') || ' to '
                  || coalesce(effective_end::varchar, 'open'), '; ' order by start_date)
           as periods,
       bool_or(coalesce(no_longer_listed, false)) as no_longer_listed,
       any_value(last_listed_in) as last_listed_in,
       list_distinct(flatten(list(act_carve_outs) filter (where act_carve_outs is not null)))
           as act_carve_outs,
       list(distinct notice_ocid) filter (where notice_ocid is not null) as ocids,
       any_value(cpv_division) as cpv_division,
       min(details_published) as details_published, max(terminated_on) as terminated_on
from oversight_entries
group by contract_key
), carved as (
    -- The carve-outs that lift each duty (names joined by ', '; null: none applies).
    select *,
           nullif(array_to_string(list_sort(list_intersect(
               act_carve_outs, getvariable('carve_outs_s52'))), ', '), '') as carved_s52,
           nullif(array_to_string(list_sort(list_intersect(
               act_carve_outs, getvariable('carve_outs_s71'))), ', '), '') as carved_s71,
           nullif(array_to_string(list_sort(list_intersect(
               act_carve_outs, getvariable('carve_outs_s75'))), ', '), '') as carved_s75,
           nullif(array_to_string(list_sort(list_intersect(
               act_carve_outs, getvariable('carve_outs_s70'))), ', '), '') as carved_s70,
           -- OV05: ended (terminated, or past its effective end) and when
           terminated or effective_end < d as ended,
           case when terminated then coalesce(terminated_on, effective_end)
                else effective_end end as ended_on,
           -- s71's clock starts at the latest of the start, the contract details notice and
           -- s71 coming into force
           greatest(start_date, coalesce(details_published, start_date),
                    getvariable('s71_in_force')::date) as s71_from
    from per_contract
)
select *,
       case when ended then case when ended_on >= getvariable('s71_in_force')::date
                                 then ended_on + getvariable('final_rating_days')::int end
            else (greatest(s71_from, last_rated) + interval 12 month)::date end as ov05_due
from carved;

-- OV15's payments: large payments confidently linked to a notice contract under s70, each
-- with the date it was due to be published and whether a payment_published event of the
-- contract shows it (amount within £1, published by the due date).
create or replace temp table s70_payments as
with published as (
    select f.contract_key as contract_id, e.value_after as amount,
           r.release_date::date as published_on
    from oversight_events e
    join oversight_entries f using (contract_id)
    left join raw.releases r
           on r.source_id = e.source_id and r.ocid = e.ocid and r.release_id = e.release_id
    where e.event_type = 'payment_published'
), large as (
    select l.contract_key as contract_id, l.payment_id, l.payment_date, l.amount,
           (date_trunc('quarter', l.payment_date) + interval 3 month - interval 1 day)::date
               + 30 as due_date
    from links.spend_contract l
    join oversight_flags f on f.contract_id = l.contract_key
    where l.contract_id is not null and l.score >= getvariable('min_confidence')
      and l.amount > getvariable('large_payment_threshold') and l.payment_date <= f.d
)
select g.*, min(p.published_on) filter (where p.published_on <= g.due_date) as published_on,
       min(p.published_on) as first_published_on
from large g
left join published p on p.contract_id = g.contract_id and abs(p.amount - g.amount) <= 1
group by all;

-- Buyers that publish payments in their notices at all (s70 data): OV15 is unknown for others.
create or replace temp table s70_buyers as
select distinct bm.buyer_id
from staging.contract_events e
join staging.contracts c using (contract_id)
join entities.buyer_mentions bm on bm.name = c.buyer_name
where e.event_type = 'payment_published';

create or replace table marts.unpublished_payments as
select p.contract_id, p.payment_id, p.payment_date, p.amount, p.due_date,
       p.first_published_on as published_late_on
from s70_payments p
join oversight_flags f using (contract_id)
where f.has_notice and not f.pre_act and f.carved_s70 is null
  and coalesce(f.commenced >= getvariable('s70_in_force')::date, true)
  and f.buyer_id in (select buyer_id from s70_buyers)
  and p.due_date < f.d and p.published_on is null
order by p.contract_id, p.payment_date, p.payment_id;

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
), pair_last as (
    select buyer_id, supplier_id, max(payment_date) as last_date
    from links.spend_contract group by all
), after_end as (
    -- Only contracts whose buyer-supplier pair was paid after their end are joined with the
    -- pair's payments (scale 10: 500k contracts, 14M links; most pairs' payments all fall
    -- before the end)
    select f.contract_id, count(*) as n, max(l.payment_date) as last_date
    from links.spend_contract l
    join (select f.* from oversight_flags f
          join pair_last p using (buyer_id, supplier_id)
          where p.last_date > f.effective_end) f
      on f.buyer_id = l.buyer_id and f.supplier_id = l.supplier_id
    where l.payment_date > f.effective_end and l.payment_date <= f.d
    group by 1
), contract_events as (
    select f.contract_key as contract_id, e.*
    from oversight_events e join oversight_entries f using (contract_id)
), at_award as (
    -- OV10's baseline: the value and end at award (the award event), else before the first
    -- change.
    select contract_id,
           coalesce(min_by(value_after, event_date) filter (where event_type = 'award'),
                    min_by(value_before, event_date)
                        filter (where event_type in ('change', 'extension')))
               as original_value,
           coalesce(min_by(end_date_after, event_date) filter (where event_type = 'award'),
                    min_by(end_date_before, event_date)
                        filter (where event_type in ('change', 'extension')))
               as original_end
    from contract_events group by 1
), changes as (
    -- OV10: changes without a change notice, summed since award.
    select e.contract_id, count(*) as n,
           sum(coalesce(e.value_after - e.value_before, 0))::double
               / nullif(any_value(a.original_value), 0) as value_rise,
           sum(coalesce(date_diff('day', e.end_date_before, e.end_date_after), 0))::double
               / nullif(date_diff('day', any_value(f.start_date), any_value(a.original_end)), 0)
               as term_rise,
           string_agg(strftime(e.event_date, '%Y-%m-%d') || ' ' || e.event_type || ': '
                      || coalesce(e.value_before::varchar, '?') || ' -> '
                      || coalesce(e.value_after::varchar, '?') || ', end '
                      || coalesce(e.end_date_before::varchar, '?') || ' -> '
                      || coalesce(e.end_date_after::varchar, '?'), '; '
                      order by e.event_date) as detail,
           any_value(a.original_value) as original_value
    from contract_events e
    join oversight_flags f using (contract_id)
    left join at_award a using (contract_id)
    where e.event_type in ('change', 'extension') and not coalesce(e.has_notice, false)
    group by 1
), proc_notices as (
    -- OV11 on notice contracts: the procurement notices each buyer published
    -- (staging.procurement_notices: UK1-UK4, or a pre-Act tender or planning release).
    select distinct bm.buyer_id, pn.ocid, pn.release_id, pn.notice_date,
           list_distinct(list_transform(pn.cpv_codes, lambda x: left(x, 2))) as divisions
    from staging.procurement_notices pn
    join entities.buyer_mentions bm on bm.name = pn.buyer_name
), successors as (
    -- Per notice contract: the buyer's procurement notices in the pipeline_months before D,
    -- other than its own process's, in its CPV division (any division when it has no CPV).
    select contract_id, count(*) as published, count(*) filter (where ok) as n,
           arg_max(ocid || ' (' || notice_date::varchar || ')', notice_date)
               filter (where ok) as latest
    from (
        select f.contract_id, p.ocid, p.notice_date,
               p.notice_date between (f.d - to_months(getvariable('pipeline_months')))::date
                                 and f.d
               and not list_contains(coalesce(f.ocids, []), p.ocid)
               and (f.cpv_division is null or list_contains(p.divisions, f.cpv_division))
                   as ok
        from oversight_flags f join proc_notices p on p.buyer_id = f.buyer_id
        where f.has_notice)
    group by 1
), s70 as (
    select p.contract_id, count(*) as large,
           count(*) filter (where p.due_date >= f.d) as not_due
    from s70_payments p join oversight_flags f using (contract_id) group by 1
), unpublished as (
    select contract_id, count(*) as n,
           string_agg(strftime(payment_date, '%Y-%m-%d') || ' £' || amount::varchar || ' ('
                      || payment_id || '), due ' || due_date::varchar
                      || coalesce(', published ' || published_late_on::varchar, ''), '; '
                      order by payment_date, payment_id) as detail
    from marts.unpublished_payments group by 1
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
       case when not f.publishes.review_date or f.live is null then null
            when not f.live then false
            when f.value is null then null
            when f.value <= getvariable('review_date_min_value') then false
            else f.review_date is null end as ov01_no_review_date,
       -- OV02 review overdue
       case when not f.publishes.review_date or f.live is null then null
            when not f.live then false
            when f.review_date is null then null
            else f.review_date < f.d end as ov02_review_overdue,
       case when f.review_date < f.d then 'review date ' || f.review_date::varchar end
           as ov02_evidence,
       -- OV03 no named owner
       case when not f.publishes.owner or f.live is null then null
            when not f.live then false
            else f.contract_owner is null end as ov03_no_owner,
       -- OV04 KPIs missing (contracts over the threshold published as notices, under the Act)
       case when f.pre_act or f.carved_s52 is not null then false
            when f.value is null then null
            when f.value <= getvariable('kpi_value_threshold') then false
            when not f.has_notice then null
            when f.kpis >= getvariable('min_kpis') then false
            when f.kpis = 0 and f.kpis_reason is not null then false  -- no KPIs, reason given
            else true end as ov04_kpis_missing,
       case when f.pre_act then 'not under the Act'
            when f.carved_s52 is not null then 'carved out: ' || f.carved_s52
            when ov04_kpis_missing then 'flagged'
            when ov04_kpis_missing is null then 'unknown'
            when f.value > getvariable('kpi_value_threshold') and f.kpis = 0
                 and f.kpis_reason is not null then 'no KPIs, reason given'
            else 'not flagged' end as ov04_outcome,
       f.kpis || ' KPIs published'
           || coalesce('; reason for no KPIs: ' || f.kpis_reason, '') as ov04_evidence,
       -- OV05 performance assessment overdue (s71): live, a rating every 12 months from the
       -- latest of start, contract details notice and 2026-01-01; ended, one on termination
       case when f.pre_act or f.carved_s71 is not null then false
            when f.value is null then null
            when f.value <= getvariable('kpi_value_threshold') then false
            when not f.has_notice then null
            when f.ended then case when f.ended_on < getvariable('s71_in_force')::date then false
                                   else f.ov05_due < f.d
                                        and coalesce(f.last_rated < f.ended_on
                                                         - getvariable('final_rating_days')::int,
                                                     true) end
            when f.live is null then null
            when not f.live then false
            else f.ov05_due < f.d end as ov05_rating_overdue,
       case when f.pre_act then 'not under the Act'
            when f.carved_s71 is not null then 'carved out: ' || f.carved_s71
            when ov05_rating_overdue then 'flagged'
            when ov05_rating_overdue is null then 'unknown'
            when f.value <= getvariable('kpi_value_threshold') then 'not flagged'
            when f.ended then case when f.ov05_due >= f.d
                                        and coalesce(f.last_rated < f.ended_on
                                                         - getvariable('final_rating_days')::int,
                                                     true) then 'not yet due'
                                   else 'not flagged' end
            when not f.live or f.last_rated is null or f.last_rated < f.s71_from
                 then 'not yet due'
            else 'not flagged' end as ov05_outcome,
       'last rated ' || coalesce(f.last_rated::varchar, 'never')
           || case when f.has_notice and not f.pre_act and f.carved_s71 is null
                        and f.value > getvariable('kpi_value_threshold') and f.ov05_due is not null
                   then case when f.ended
                             then '; ended ' || f.ended_on::varchar
                                  || ', assessment on termination due '
                             else '; next assessment due ' end || f.ov05_due::varchar
                   else '' end as ov05_evidence,
       -- OV06 poor performance: a poor latest rating or a published performance failure
       case when f.pre_act or f.carved_s71 is not null then false
            when f.latest_rating in ('requires improvement', 'inadequate') or f.failures > 0
                 then true
            when f.latest_rating is null then null
            else false end as ov06_poor_performance,
       case when f.pre_act then 'not under the Act'
            when f.carved_s71 is not null then 'carved out: ' || f.carved_s71
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
       -- OV10 change beyond tolerance, no change notice (cumulative since award)
       case when f.pre_act or f.carved_s75 is not null then false
            when not f.has_notice then null
            when ch.n is null then false
            else coalesce(ch.value_rise > case when f.is_works
                                               then getvariable('change_tolerance_works')
                                               else getvariable('change_tolerance_goods_services')
                                          end, false)
                 or coalesce(ch.term_rise > getvariable('change_tolerance_term'), false)
       end as ov10_change_beyond_tolerance,
       case when f.pre_act then 'not under the Act'
            when f.carved_s75 is not null then 'carved out: ' || f.carved_s75
            when ov10_change_beyond_tolerance then 'flagged'
            when ov10_change_beyond_tolerance is null then 'unknown'
            else 'not flagged' end as ov10_outcome,
       ch.detail || '; without a change notice since award: value '
           || coalesce(printf('%+.1f%%', 100 * ch.value_rise), '?')
           || coalesce(' of ' || ch.original_value::varchar, '') || ', term '
           || coalesce(printf('%+.1f%%', 100 * ch.term_rise), '?') as ov10_evidence,
       -- OV11 expiring, no pipeline. Notice contracts: a procurement notice of the buyer in
       -- the contract's CPV division; register contracts: any notice of the buyer.
       case when f.effective_end is null or f.live is null then null
            when not f.live or f.effective_end > f.d + to_months(getvariable('pipeline_months'))
                 then false
            when f.has_notice then case when sx.published is null then null else sx.n = 0 end
            when bn.buyer_id is null then null  -- the buyer publishes no notices
            else coalesce(bn.latest < f.d - to_months(getvariable('pipeline_months')), true)
       end as ov11_no_pipeline,
       case when f.has_notice and sx.published is not null
                 and f.live and f.effective_end <= f.d + to_months(getvariable('pipeline_months'))
            then case when sx.n > 0 then 'procurement notice ' || sx.latest
                      else 'no procurement notice from the buyer'
                           || coalesce(' in CPV division ' || f.cpv_division, '')
                           || ' published ' || (f.d - to_months(getvariable('pipeline_months')))
                                                   ::date::varchar
                           || ' to ' || f.d::varchar || ' (its own process left out)' end
       end as ov11_evidence,
       -- OV13 value missing
       case when f.live is null then null when not f.live then false
            else f.value is null end as ov13_value_missing,
       -- OV14 supplier unidentified
       case when f.live is null then null when not f.live then false
            when f.record_type = 'register'
                 and not (f.publishes.company_number or f.publishes.charity_number) then null
            else f.supplier_company_number is null and f.supplier_charity_number is null
                 and f.supplier_other_id is null end as ov14_supplier_unidentified,
       -- OV15 large payment not published (s70)
       case when f.pre_act or f.carved_s70 is not null then false
            when f.has_notice and f.commenced < getvariable('s70_in_force')::date then false
            when s7.large is null then false
            when not f.has_notice then null  -- register only: whether s70 applies is unknown
            when s7.not_due = s7.large then false
            when sb.buyer_id is null then null  -- the buyer publishes no payments in notices
            else up.n is not null end as ov15_payment_not_published,
       case when f.pre_act then 'not under the Act'
            when f.carved_s70 is not null then 'carved out: ' || f.carved_s70
            when f.has_notice and f.commenced < getvariable('s70_in_force')::date
                 then 'commenced before s70'
            when ov15_payment_not_published then 'flagged'
            when ov15_payment_not_published is null then 'unknown'
            when s7.large is not null and s7.not_due = s7.large then 'not yet due'
            else 'not flagged' end as ov15_outcome,
       up.detail as ov15_evidence,
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
left join successors sx using (contract_id)
left join s70 s7 using (contract_id)
left join unpublished up using (contract_id)
left join s70_buyers sb on sb.buyer_id = f.buyer_id
left join basis bs using (contract_id)
order by f.source_id, f.contract_id;
