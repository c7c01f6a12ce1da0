-- links.spend_contract: every payment, with the contract it most likely pays (or none).
-- A candidate contract has the payment's buyer and supplier (resolved entities) and a window
-- that holds the payment date, from start - start_margin_days to effective end + grace_days.
-- The effective end is the latest of end date, current expiry date and any change or
-- extension that moved it. The choice explains itself (`method`):
--   reference        the contract's reference is printed on the payment line;
--   own_period       the payment is inside one contract's own period (beats any margin or
--                    grace candidate);
--   margin_or_grace  inside no contract's own period, in one contract's margin or grace;
--   ambiguous        several contracts fit equally and nothing separates them: the first by
--                    narrowest period and closest value is shown, `tied_contracts` lists all,
--                    and the score is shared between them;
--   invalid_period   the only candidates end before they start (a register typo).
-- `score` is the link's confidence: supplier-resolution score x 1.0 (reference, own
-- period), 0.8 (margin or grace) or 0.3 (invalid period), divided by the tied candidates.
-- OV07 and OV08 trust links at or above links.min_confidence (parameters.yaml).
-- A notice matched to a register entry (staging.contract_matches) is that entry: only the
-- register row is a candidate, but the notice's changes move its end.
-- Every payment also carries its payee's class (entities.suppliers.payee_class), whether its
-- expense type makes it a grant, and `is_market`: a payment to a market supplier (the
-- classes in parameters.yaml payees.market_classes) that is not a grant. Off-contract spend
-- and concentration count `is_market` payments only.
-- `category` and `category_scheme`: the payment's procurement category, else its expense type
-- (what concentration groups by).
-- The inputs are the tables of link_inputs.sql (links.input_*); oversight/entities/links.py makes this
-- select the table, or inserts its rows for the payments an incremental build links again.
with payments as not materialized (
    -- Not materialized: read twice (for the candidates, and for the result), it was kept
    -- whole, every payment with its text columns, and at scale 10 (14M payments) that spilled
    -- 13 GB to disk; computing it twice from staging.spend took 46 s against 66 s.
    -- pid: the payment's row in staging.spend, a number to group candidates by (grouping
    -- by payment_id, a long text, took most of this step's time)
    select s.pid,
           concat(s.source_id, ':', s.file_path, '#',
                  case when s.part <> '' then s.part || ':' end, s.row_number) as payment_id,
           s.source_id, s.file_path, s.part, s.row_number, s.payment_date,
           -- pounds only: an amount in another currency is an unknown value in pound totals
           case when coalesce(s.currency, 'GBP') = 'GBP' then s.amount end as amount,
           coalesce(s.currency, 'GBP') as currency,
           b.buyer_id,
           case when m.is_personal
                then concat('personal:', s.source_id, ':', s.file_path, '#', s.row_number)
                else m.supplier_id end as supplier_id,
           m.is_personal, m.score as supplier_score, s.contract_ref as spend_ref,
           m.payee_class,
           coalesce(regexp_matches(s.expense_type, getvariable('grant_expense_pattern')),
                    false) as is_grant,
           coalesce(s.category, s.expense_type) as category,
           case when s.category is not null then 'procurement category'
                when s.expense_type is not null then 'expense type' end as category_scheme
    -- spend_to_link: staging.spend with its row number (pid), every payment or (an
    -- incremental build) those to link again
    from spend_to_link s
    left join links.input_buyers b on b.name = s.buyer_name
    left join links.input_mentions m
           on m.name is not distinct from s.supplier_name
          and m.company_number is not distinct from s.supplier_company_number
          and m.charity_number is not distinct from s.supplier_charity_number
    where (s.source_id, s.file_path) not in (select source_id, file_path
                                             from links.superseded_files)
), contracts as (
    select * from links.input_contracts
), candidates as (
    -- Every contract whose window (start - margin to effective end + grace) holds the payment,
    -- in tiers: 1 the payment is inside the contract's own period; 2 only in its start
    -- margin or grace period; 3 the period ends before it starts (a data-quality finding:
    -- never preferred, never confident).
    select p.pid, c.contract_id, c.contract_key,
           least(p.supplier_score, c.supplier_score) as supplier_score,
           case when c.effective_end < c.start_date then 3
                when p.payment_date between c.start_date
                                        and coalesce(c.effective_end, date '9999-12-31')
                then 1 else 2 end as tier,
           date_diff('day', c.start_date, coalesce(c.effective_end, date '9999-12-31'))
               as period_days,
           abs(c.value - p.amount) as value_gap,
           -- evidence in the spend line: the contract's reference printed on it
           p.spend_ref is not null and p.spend_ref = c.contract_ref as ref_printed
    from payments p
    join contracts c on p.buyer_id = c.buyer_id and p.supplier_id = c.supplier_id
     and p.payment_date >= c.start_date - to_days(getvariable('start_margin_days')::integer)
     and p.payment_date <= greatest(coalesce(c.effective_end, date '9999-12-31'), c.start_date)
                           + to_days(getvariable('grace_days')::integer)
), tiered as (
    -- A reference printed on the payment decides; otherwise the best tier holds the
    -- candidates, and more than one there is ambiguous (nothing separates them).
    select *, case when bool_or(ref_printed) over w then (case when ref_printed then 0 else 9 end)
                   else tier end as rank_tier,
           count(*) over w as candidates
    from candidates
    window w as (partition by pid)
), top as (
    select * from tiered qualify rank_tier = min(rank_tier) over (partition by pid)
), keys as (
    -- rows of one contract (periods of a renewal) are not rivals: ties count contracts
    select *, dense_rank() over (partition by pid order by contract_key) as key_rank
    from top
), best_tier as (
    select *, max(key_rank) over (partition by pid) as in_best_tier
    from keys
), tied as (
    -- the tied candidates of an ambiguous payment, in the order they are shown (a list per
    -- payment of them all, as a window, took most of this step's time)
    select pid, list(contract_id order by period_days, value_gap nulls last, contract_id)
               as tied
    from best_tier where in_best_tier > 1
    group by pid
), best as (
    select * from best_tier left join tied using (pid)
    qualify row_number() over (partition by pid
                               order by period_days, value_gap nulls last, contract_id) = 1
), pairs as (
    select distinct buyer_id, supplier_id from contracts
)
select p.payment_id, p.source_id, p.file_path, p.part, p.row_number, p.payment_date,
       p.amount, p.currency, p.buyer_id, p.supplier_id, b.contract_id, b.contract_key,
       case when b.contract_id is null then 'unlinked'
            when b.rank_tier = 0 then 'reference'
            when b.in_best_tier > 1 then 'ambiguous'
            when b.rank_tier = 1 then 'own_period'
            when b.rank_tier = 2 then 'margin_or_grace'
            else 'invalid_period' end as method,
       -- confidence: the supplier match times how well the period (or a printed reference)
       -- singles the contract out; shared between tied candidates
       round(b.supplier_score * case b.rank_tier when 0 then 1.0 when 1 then 1.0
                                                 when 2 then 0.8 else 0.3 end
             / b.in_best_tier, 3) as score,
       coalesce(b.candidates, 0) as candidates,
       case when b.in_best_tier > 1 then b.tied end as tied_contracts,
       case when b.contract_id is not null then null
            when p.is_personal then 'personal or redacted payee'
            when p.supplier_id is null then 'no supplier'
            when pr.supplier_id is null then 'no contract for this buyer and supplier'
            else 'no contract period covers the payment date' end as unlinked_reason,
       p.payee_class, p.is_grant,
       coalesce(list_contains(getvariable('market_classes'), p.payee_class)
                and not p.is_grant, false) as is_market,
       p.category, p.category_scheme
from payments p
left join best b using (pid)
left join pairs pr on pr.buyer_id = p.buyer_id and pr.supplier_id = p.supplier_id;
-- No order by: sorting the 14M payments of scale 10 by file and row inside the step's
-- transaction ran out of DuckDB's 1 GB, and an incremental build appends anyway. Read the
-- table with an order by (source_id, file_path, part, row_number).
