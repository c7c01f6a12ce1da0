-- Rules on staging.contract_events that Great Expectations cannot express.

-- name: event_id_unique
-- severity: error
-- why: an event counted twice would double a change or a rating
select event_id, count(*) as copies from staging.contract_events group by 1 having count(*) > 1;

-- name: event_has_its_contract
-- severity: error
-- why: events of a contract that is not in staging.contracts cannot be used by the indicators
select e.event_id, e.contract_id from staging.contract_events e
left join staging.contracts c using (contract_id) where c.contract_id is null;
