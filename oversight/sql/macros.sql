-- Value parsers used when typing published text. Temporary: they live in each connection,
-- so the warehouse file never depends on them.

-- A published value quoted in a reason: at most 80 characters, then how long it was (the whole
-- value stays in raw.quarantine.raw_text; a 1 MB cell must not make a 1 MB reason).
create or replace temp macro excerpt(s) as (
    case when length(s) > 80 then left(s, 80) || '... (' || length(s) || ' characters)' else s end
);

-- ' £1,680.00 ' -> 1680.00; '(1,234.50)' -> -1234.50; '1,234.50-' -> -1234.50; else NULL.
create or replace temp macro parse_money(s) as (
    try_cast(
        case
            when regexp_full_match(regexp_replace(s, '[£\s,]|GBP', '', 'g'), '\(.*\)')
                then '-' || trim(regexp_replace(s, '[£\s,]|GBP', '', 'g'), '()')
            when regexp_full_match(regexp_replace(s, '[£\s,]|GBP', '', 'g'), '[0-9.]+-')
                then '-' || rtrim(regexp_replace(s, '[£\s,]|GBP', '', 'g'), '-')
            else regexp_replace(s, '[£\s,]|GBP', '', 'g')
        end as decimal(18, 2))
);

-- Text in any of the formats, or an Excel serial day number (when allowed), to a DATE.
-- Years outside 1900-2100 are typing slips ('22/04/222'), not dates. A serial is read only
-- within 1990-2050 (32874-54788, the range the expectation suites call realistic): '99999'
-- is a number, not 2173-10-13, and stays unread (parse_issues, or quarantine if required).
create or replace temp macro parse_date(s, formats, serials) as (
    case
        when serials and regexp_full_match(trim(s), '[0-9]{5}(\.[0-9]+)?')
            then case when cast(trim(s) as double) between 32874 and 54788
                      then date '1899-12-30' + cast(floor(cast(trim(s) as double)) as integer)
                 end
        when year(try_strptime(trim(s), formats)) between 1900 and 2100
            then cast(try_strptime(trim(s), formats) as date)
    end
);

create or replace temp macro parse_number(s) as (
    try_cast(regexp_replace(s, '[\s,]', '', 'g') as double)
);

-- A registration number as published, with spaces, dots and any 'GB-COH-' prefix removed.
create or replace temp macro registration_text(s) as (
    regexp_replace(upper(regexp_replace(s, '[\s.]', '', 'g')), '^GB-?COH-?', '')
);

-- Companies House number: 8 characters, zero-padded, two-letter prefixes kept.
create or replace temp macro company_number(s) as (
    case
        when regexp_full_match(registration_text(s), '[0-9]{1,8}')
             and cast(registration_text(s) as bigint) > 0
            then lpad(registration_text(s), 8, '0')
        when regexp_full_match(registration_text(s),
             '(SC|NI|OC|SO|NC|R0|FC|SF|NF|IP|SP|NP|RC|SR|NR|CE|CS|SE|GE|SG|SA|NA|NL|SL|LP|ZC|GS|ES|PC|AC|SI|NV|IC|RS)[0-9]{1,6}')
            then left(registration_text(s), 2) || lpad(substr(registration_text(s), 3), 6, '0')
    end
);

-- A charity number written into a registration-number column ('CHA1049226', 'Charity 123456').
create or replace temp macro charity_in_registration(s) as (
    case
        when regexp_full_match(registration_text(s), '(CHA|CHARITY|CH|RCN)-?[0-9]{6,8}(-[0-9]+)?')
            then regexp_extract(registration_text(s), '[0-9]{6,8}(-[0-9]+)?')
    end
);

-- A charity number as published in a charity column, without any 'CHA' style prefix.
create or replace temp macro charity_number(s) as (
    regexp_replace(registration_text(s), '^(CHARITY|CHA|CH|RCN)-?', '')
);
