-- Rules on staging.contract_suppliers that Great Expectations cannot express.

-- name: supplier_position_unique
-- severity: error
-- why: each supplier of an award appears once
select contract_id, position, count(*) as copies from staging.contract_suppliers
group by all having count(*) > 1;
