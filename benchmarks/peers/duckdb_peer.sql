-- The peer plan (benchmarks/peers/plan.yaml) by hand in DuckDB SQL: what a data engineer would
-- write. Money is exact: BIGINT hundredths of a currency unit (JPY in multiples of 100, like
-- the engine), products in HUGEINT, every rounding an integer division. No float anywhere.
-- The names in braces are replaced by duckdb_peer.py with quoted Parquet paths.

-- half up = half away from zero: round(n / d) for d > 0
CREATE MACRO half_up(n, d) AS sign(n) * ((2 * abs(n) + d) // (2 * d));
-- the smallest amount of a currency, in hundredths
CREATE MACRO minor_unit(c) AS CASE WHEN c IN ('JPY', 'KRW', 'CLP', 'ISK', 'VND') THEN 100 ELSE 1 END;

-- inputs ----------------------------------------------------------------------------------
CREATE TEMP TABLE tx AS
SELECT transaction_id, credit_date, CAST(amount * 100 AS BIGINT) AS amount_cents, currency,
       product, territory_id, seller_id
FROM read_parquet({tx});

CREATE TEMP TABLE sellers AS
SELECT transaction_id, participant_id, CAST(share * 1000000 AS BIGINT) AS ppm
FROM read_parquet({sellers});

CREATE TEMP TABLE people AS
SELECT participant_id, pay_currency, hire_date,
       coalesce(termination_date, DATE '9999-12-31') AS termination_date
FROM read_parquet({participants});

CREATE TEMP TABLE hier AS
SELECT participant_id, manager_id, valid_from, coalesce(valid_to, DATE '9999-12-31') AS valid_to
FROM read_parquet({hierarchy});

CREATE TEMP TABLE calendar AS SELECT period, start_date, end_date FROM read_parquet({calendar});

-- one row per day of the calendar: the period of a credit date by an equi-join
CREATE TEMP TABLE days AS
SELECT CAST(d AS DATE) AS day, period
FROM calendar, generate_series(start_date, end_date, INTERVAL 1 DAY) AS g(d);

-- one row per pair and day of the calendar with the direct rate (x 1e10) of that day
CREATE TEMP TABLE fx AS
SELECT r.from_currency, r.to_currency, d.day, CAST(r.rate * 10000000000 AS BIGINT) AS rate_e10
FROM read_parquet({exchange_rates}) r
JOIN days d ON d.day BETWEEN r.valid_from AND coalesce(r.valid_to, DATE '9999-12-31');

-- convert hundredths of `c` to hundredths of `t` with the rate of that day (direct, else the
-- inverse), rounded half up once to the minor unit of `t`
CREATE MACRO convert(amount, c, t, direct, inverse) AS CASE
    WHEN c = t THEN amount
    WHEN direct IS NOT NULL THEN
        half_up(CAST(amount AS HUGEINT) * direct, CAST(minor_unit(t) AS HUGEINT) * 10000000000)
        * minor_unit(t)
    ELSE half_up(CAST(amount AS HUGEINT) * 10000000000, CAST(inverse AS HUGEINT) * minor_unit(t))
        * minor_unit(t)
END;

-- crediting: who gets what share of each transaction ------------------------------------
-- split rows win, then the named seller, then the territory owners as of the credit date
CREATE TEMP TABLE recipients AS
SELECT transaction_id, participant_id, ppm, 'split-deal' AS rule FROM sellers
UNION ALL
SELECT t.transaction_id, t.seller_id, 1000000, 'named-seller'
FROM tx t
WHERE t.seller_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM sellers s WHERE s.transaction_id = t.transaction_id)
UNION ALL
SELECT t.transaction_id, o.participant_id,
       coalesce(CAST(o.share * 1000000 AS BIGINT), 1000000), 'by-territory'
FROM tx t
JOIN read_parquet({territory_owners}) o
  ON o.territory_id = t.territory_id
 AND t.credit_date BETWEEN o.valid_from AND coalesce(o.valid_to, DATE '9999-12-31')
WHERE t.seller_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM sellers s WHERE s.transaction_id = t.transaction_id);

-- largest remainder in the currency's minor unit: floor parts, the units left over one each to
-- the largest remainders (ties: smaller participant id); a return is split as its magnitude
CREATE TEMP TABLE credits AS
WITH r AS (
    SELECT r.transaction_id, r.participant_id, r.rule, r.ppm, t.amount_cents, t.currency,
           t.credit_date, t.product, minor_unit(t.currency) AS mu,
           (abs(t.amount_cents) // minor_unit(t.currency)) * r.ppm AS scaled
    FROM recipients r JOIN tx t USING (transaction_id)
),
parts AS (
    SELECT *, scaled // 1000000 AS base,
           abs(amount_cents) // mu - sum(scaled // 1000000) OVER w AS leftover,
           row_number() OVER (w ORDER BY scaled % 1000000 DESC, participant_id) AS rnk
    FROM r
    WINDOW w AS (PARTITION BY transaction_id)
)
SELECT p.transaction_id, p.participant_id, p.rule, p.ppm AS share_ppm,
       CAST(sign(p.amount_cents) * (p.base + CASE WHEN p.rnk <= p.leftover THEN 1 ELSE 0 END)
            * p.mu AS BIGINT) AS amount_cents,
       p.currency, p.credit_date, d.period, p.product
FROM parts p JOIN days d ON d.day = p.credit_date;

-- measures --------------------------------------------------------------------------------
-- level 0: each credit line converted to the participant's pay currency on its credit date
CREATE TEMP TABLE seller_measures AS
SELECT c.participant_id, c.period,
       CAST(sum(convert(c.amount_cents, c.currency, p.pay_currency, f.rate_e10, i.rate_e10))
            AS BIGINT) AS revenue,
       CAST(coalesce(sum(convert(c.amount_cents, c.currency, p.pay_currency, f.rate_e10,
                                 i.rate_e10)) FILTER (WHERE c.product = 'PLATFORM'), 0)
            AS BIGINT) AS platform,
       count(*) FILTER (WHERE c.product = 'MEETING') AS meetings
FROM credits c
JOIN people p USING (participant_id)
LEFT JOIN fx f ON f.from_currency = c.currency AND f.to_currency = p.pay_currency AND f.day = c.credit_date
LEFT JOIN fx i ON i.from_currency = p.pay_currency AND i.to_currency = c.currency AND i.day = c.credit_date
GROUP BY ALL;

-- roll-up: every manager above the credited participant, hierarchy as of the credit date
CREATE TEMP TABLE chains AS
WITH RECURSIVE pd AS (SELECT DISTINCT participant_id, credit_date FROM credits),
chain(participant_id, credit_date, manager_id, level) AS (
    SELECT pd.participant_id, pd.credit_date, h.manager_id, 1
    FROM pd JOIN hier h
      ON h.participant_id = pd.participant_id
     AND pd.credit_date BETWEEN h.valid_from AND h.valid_to
    UNION ALL
    SELECT c.participant_id, c.credit_date, h.manager_id, c.level + 1
    FROM chain c JOIN hier h
      ON h.participant_id = c.manager_id
     AND c.credit_date BETWEEN h.valid_from AND h.valid_to
)
SELECT * FROM chain;

-- each roll-up line converted to the manager's pay currency; totals per manager, period and
-- transaction currency are the roll-up audit trail (like the engine's rollup_totals)
CREATE TEMP TABLE rollup_totals AS
SELECT ch.manager_id AS participant_id, c.period, c.currency,
       CAST(sum(c.amount_cents) AS BIGINT) AS amount_cents, count(*) AS credit_count,
       CAST(sum(convert(c.amount_cents, c.currency, m.pay_currency, f.rate_e10, i.rate_e10))
            AS BIGINT) AS pay_cents
FROM credits c
JOIN chains ch USING (participant_id, credit_date)
JOIN people m ON m.participant_id = ch.manager_id
LEFT JOIN fx f ON f.from_currency = c.currency AND f.to_currency = m.pay_currency AND f.day = c.credit_date
LEFT JOIN fx i ON i.from_currency = m.pay_currency AND i.to_currency = c.currency AND i.day = c.credit_date
GROUP BY ALL;

-- who is on which plan in which period (employed and assigned at least one day)
CREATE TEMP TABLE population AS
SELECT a.participant_id, c.period, a.plan_id, p.pay_currency
FROM read_parquet({plan_assignments}) a
JOIN people p USING (participant_id)
JOIN calendar c
  ON greatest(a.valid_from, p.hire_date, c.start_date)
     <= least(coalesce(a.valid_to, DATE '9999-12-31'), p.termination_date, c.end_date);

CREATE TEMP TABLE measures AS
SELECT pop.participant_id, pop.period, pop.plan_id, pop.pay_currency,
       coalesce(s.revenue, 0) AS revenue, coalesce(s.platform, 0) AS platform,
       coalesce(s.meetings, 0) AS meetings, coalesce(t.team, 0) AS team,
       coalesce(CAST(q.quota * 100 AS BIGINT), 0) AS quota
FROM population pop
LEFT JOIN seller_measures s USING (participant_id, period)
LEFT JOIN (SELECT participant_id, period, CAST(sum(pay_cents) AS BIGINT) AS team
           FROM rollup_totals GROUP BY ALL) t
  USING (participant_id, period)
LEFT JOIN read_parquet({quotas}) q
  ON q.participant_id = pop.participant_id AND q.period = pop.period AND q.measure = 'revenue';

-- incentives -----------------------------------------------------------------------------
-- attainment |value| / quota against a bound (ppm), exact; no quota = attainment 0
CREATE MACRO reaches(value, quota, bound_ppm) AS
    CAST(abs(value) AS HUGEINT) * 1000000 >= CAST(bound_ppm AS HUGEINT) * quota AND quota > 0
    OR bound_ppm = 0;

CREATE TEMP TABLE components AS
SELECT participant_id, period, plan_id, pay_currency, 'commission' AS component,
       half_up(CAST(revenue AS HUGEINT) * CASE
           WHEN reaches(revenue, quota, 1500000) THEN 40000
           WHEN reaches(revenue, quota, 1000000) THEN 30000
           WHEN reaches(revenue, quota, 500000) THEN 20000
           ELSE 10000 END, 1000000) AS earned,
       2500000 AS cap
FROM measures WHERE plan_id IN ('AE', 'RENEWAL', 'PARTNER')
UNION ALL
SELECT participant_id, period, plan_id, pay_currency, 'platform-kicker',
       half_up(sign(platform) * (
           CAST(least(abs(platform), 2000000) AS HUGEINT) * 5000
           + CAST(greatest(least(abs(platform), 10000000) - 2000000, 0) AS HUGEINT) * 10000
           + CAST(greatest(abs(platform) - 10000000, 0) AS HUGEINT) * 15000), 1000000),
       NULL
FROM measures WHERE plan_id IN ('AE', 'RENEWAL', 'PARTNER')
UNION ALL
SELECT participant_id, period, plan_id, pay_currency, 'meetings',
       meetings * CASE WHEN meetings >= 10 THEN 6000 ELSE 4000 END, NULL
FROM measures WHERE plan_id = 'SDR'
UNION ALL
SELECT participant_id, period, plan_id, pay_currency, 'override',
       half_up(CAST(team AS HUGEINT) * CASE
           WHEN reaches(team, quota, 1000000) THEN 5000
           WHEN reaches(team, quota, 800000) THEN 3000
           ELSE 2000 END, 1000000),
       NULL
FROM measures WHERE plan_id = 'MANAGER';

-- pay: component cap, plan cap (managers), non-recoverable draw in Q1 (sellers)
CREATE TEMP TABLE component_pay AS
SELECT participant_id, period, plan_id, pay_currency AS currency, component,
       CAST(earned AS BIGINT) AS earned_cents,
       CAST(CASE WHEN cap IS NOT NULL AND earned > cap THEN cap - earned ELSE 0 END AS BIGINT)
           AS adjustments_cents
FROM components;

CREATE TEMP TABLE plan_pay AS
WITH totals AS (
    SELECT participant_id, period, plan_id, currency,
           CAST(sum(earned_cents + adjustments_cents) AS BIGINT) AS total
    FROM component_pay GROUP BY ALL
)
SELECT participant_id, period, plan_id, currency, '(plan)' AS component,
       CAST(0 AS BIGINT) AS earned_cents,
       CAST(CASE WHEN plan_id = 'MANAGER' AND total > 4000000 THEN 4000000 - total ELSE 0 END
            AS BIGINT) AS adjustments_cents,
       CAST(CASE WHEN plan_id IN ('AE', 'RENEWAL', 'PARTNER')
                      AND period IN ('2026-01', '2026-02', '2026-03')
                 THEN greatest(150000 - greatest(total, 0), 0) ELSE 0 END AS BIGINT) AS draw_cents
FROM totals;

CREATE TEMP TABLE payouts AS
SELECT participant_id, period, plan_id, component, earned_cents, adjustments_cents,
       CAST(0 AS BIGINT) AS draw_cents,
       earned_cents + adjustments_cents AS payable_cents, currency
FROM component_pay
UNION ALL
SELECT participant_id, period, plan_id, component, earned_cents, adjustments_cents,
       draw_cents, earned_cents + adjustments_cents + draw_cents, currency
FROM plan_pay
ORDER BY participant_id, period, plan_id, component;
