-- Value parsers used when typing published text. Temporary: they live in each connection,
-- so the warehouse file never depends on them.

-- A published value quoted in a reason: at most 80 characters, then how long it was (the whole
-- value stays in raw.quarantine.raw_text; a 1 MB cell must not make a 1 MB reason).
create or replace temp macro excerpt(s) as (
    case when length(s) > 80 then left(s, 80) || '... (' || length(s) || ' characters)' else s end
);

-- ' £1,680.00 ' -> 1680.00; '(1,234.50)' -> -1234.50; '1,234.50-' -> -1234.50; '€1,200' and
-- 'USD 15' -> the number (money_currency says which currency); '�500' (a pound sign that was
-- not UTF-8) -> 500; else NULL.
create or replace temp macro money_digits(s) as (
    regexp_replace(s, '[£$€\x{FFFD}\s,]|GBP|EUR|USD', '', 'g')
);
create or replace temp macro parse_money(s) as (
    try_cast(
        case
            when regexp_full_match(money_digits(s), '\(.*\)')
                then '-' || trim(money_digits(s), '()')
            when regexp_full_match(money_digits(s), '[0-9.]+-')
                then '-' || rtrim(money_digits(s), '-')
            else money_digits(s)
        end as decimal(18, 2))
);

-- The currency a published amount names: EUR or USD by symbol or code, else NULL (pounds).
create or replace temp macro money_currency(s) as (
    case when regexp_matches(s, '€|EUR') then 'EUR'
         when regexp_matches(s, '\$|USD') then 'USD' end
);

-- The first day of an accounting period printed as YYYYPP (or YYYY-PP, YYYY/PP): financial
-- periods run from April (202205 = period 5 of 2022-23 = 2022-08-01; 202210 = 2023-01-01);
-- calendar periods are months (202205 = 2022-05-01). NULL when it is not such a period.
create or replace temp macro period_start(s, financial) as (
    case when regexp_full_match(trim(s), '(19|20)[0-9]{2}[-/ ]?(0?[1-9]|1[0-2])') then
        make_date(
            cast(left(trim(s), 4) as integer) + case
                when financial and cast(regexp_extract(trim(s), '([0-9]{1,2})$', 1) as integer) >= 10
                then 1 else 0 end,
            case when financial
                 then (cast(regexp_extract(trim(s), '([0-9]{1,2})$', 1) as integer) + 2) % 12 + 1
                 else cast(regexp_extract(trim(s), '([0-9]{1,2})$', 1) as integer) end,
            1)
    end
);

-- A time with no date ('00:00:00', '0:00'): what some exports print in an empty date column.
create or replace temp macro bare_time(s) as (
    regexp_full_match(trim(s), '[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?')
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
        -- the text parsed once (written twice, a CASE parsed it twice: a second a million)
        else list_transform(
            [try_strptime(trim(s), formats)],
            lambda t: case when year(t) between 1900 and 2100 then cast(t as date) end
        )[1]
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
