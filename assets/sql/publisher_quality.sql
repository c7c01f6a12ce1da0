-- marts.publisher_quality: one row per source. Expects a registered table `sources`
-- (source_id, publisher, kind, threshold) from the catalogue.
create schema if not exists marts;
create or replace table marts.publisher_quality as
with files as (
    select source_id,
           count(*) filter (status <> 'removed') as files,
           count(*) filter (status = 'failed') as files_failed,
           coalesce(sum(rows_read), 0) as rows_read,
           coalesce(sum(rows_loaded), 0) as rows_loaded,
           coalesce(sum(rows_quarantined), 0) as rows_quarantined,
           max(ingested_at) as last_ingested_at
    from raw.files group by 1
), spend as (
    select source_id, count(*) as spend_lines, sum(amount) as spend_total,
           avg((buyer_name is not null)::int) as cov_buyer_name,
           avg((payment_date is not null)::int) as cov_payment_date,
           avg((transaction_id is not null)::int) as cov_transaction_id,
           avg((amount is not null)::int) as cov_amount,
           avg((supplier_name is not null)::int) as cov_supplier_name,
           avg((supplier_company_number is not null or supplier_charity_number is not null
                or supplier_other_id is not null)::int) as cov_supplier_registration,
           avg((expense_type is not null)::int) as cov_expense_type,
           avg((expense_area is not null)::int) as cov_expense_area,
           avg((category is not null)::int) as cov_category,
           avg((irrecoverable_vat is not null)::int) as cov_irrecoverable_vat,
           coalesce(sum(abs(amount)) filter (where supplier_company_number is not null
                                                or supplier_charity_number is not null), 0)
               / nullif(sum(abs(amount)), 0) as share_spend_with_registration,
           min(date_trunc('month', payment_date)) as first_month,
           max(date_trunc('month', payment_date)) as last_month,
           list(distinct date_trunc('month', payment_date)::timestamp) as months_present
    from staging.spend group by 1
), months as (
    -- each month from the first to the last with no payment dated in it (the months are
    -- listed in the same scan of staging.spend: a subquery per month scanned it again)
    select source_id, len(missing) as months_missing,
           nullif(array_to_string(list_transform(missing, lambda m: strftime(m, '%Y-%m')), ', '),
                  '') as missing_months
    from (select source_id,
                 list_filter(generate_series(first_month, last_month, interval 1 month),
                             lambda m: not list_contains(months_present, m)) as missing
          from spend)
), register as (
    select source_id, count(*) as register_entries,
           avg((contract_ref is not null)::int) as cov_contract_ref,
           avg((title is not null)::int) as cov_title,
           avg((description is not null)::int) as cov_description,
           avg((department is not null)::int) as cov_department,
           avg((supplier_name is not null)::int) as cov_register_supplier_name,
           avg((supplier_company_number is not null or supplier_charity_number is not null
                or supplier_other_id is not null)::int) as cov_register_supplier_registration,
           avg((sme is not null)::int) as cov_sme,
           avg((vcse is not null)::int) as cov_vcse,
           avg((start_date is not null)::int) as cov_start_date,
           avg((end_date is not null)::int) as cov_end_date,
           avg((review_date is not null)::int) as cov_review_date,
           avg((coalesce(total_value, annual_value) is not null)::int) as cov_value,
           avg((irrecoverable_vat is not null)::int) as cov_register_irrecoverable_vat,
           avg((contract_owner is not null)::int) as cov_contract_owner
    from staging.contracts where record_type = 'register' group by 1
), conflicts as (
    -- a number printed with this name and elsewhere with a dissimilar one: not merged
    select source_id, count(*) as identifier_conflicts
    from (select unnest(sources) as source_id from entities.supplier_mentions
          where identifier_conflict is not null)
    group by 1
)
select src.source_id, src.publisher, src.kind,
       coalesce(f.files, 0) as files, coalesce(f.files_failed, 0) as files_failed,
       coalesce(f.rows_read, 0) as rows_read, coalesce(f.rows_loaded, 0) as rows_loaded,
       coalesce(f.rows_quarantined, 0) as rows_quarantined,
       f.rows_quarantined / nullif(f.rows_read, 0) as quarantine_rate,
       f.last_ingested_at,
       s.spend_lines, s.spend_total, s.first_month::date as first_month,
       s.last_month::date as last_month, m.months_missing, m.missing_months,
       s.share_spend_with_registration,
       coalesce(c.identifier_conflicts, 0) as identifier_conflicts,
       r.register_entries,
       r.cov_review_date as share_register_with_review_date,
       r.cov_value as share_register_with_value,
       s.cov_buyer_name, s.cov_payment_date, s.cov_transaction_id, s.cov_amount,
       coalesce(s.cov_supplier_name, r.cov_register_supplier_name) as cov_supplier_name,
       coalesce(s.cov_supplier_registration, r.cov_register_supplier_registration)
           as cov_supplier_registration,
       s.cov_expense_type, s.cov_expense_area, s.cov_category,
       coalesce(s.cov_irrecoverable_vat, r.cov_register_irrecoverable_vat)
           as cov_irrecoverable_vat,
       r.cov_contract_ref, r.cov_title, r.cov_description, r.cov_department, r.cov_sme,
       r.cov_vcse, r.cov_start_date, r.cov_end_date, r.cov_review_date, r.cov_value,
       r.cov_contract_owner
from sources src
left join files f using (source_id)
left join spend s using (source_id)
left join months m using (source_id)
left join register r using (source_id)
left join conflicts c using (source_id)
order by src.source_id;
