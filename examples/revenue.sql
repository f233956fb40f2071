-- E-commerce revenue by category, per minute (the benchmark's Q_A).
--   eddy gen purchases --count 1000000 --out data/purchases
--   eddy run examples/revenue.sql --checkpoint ckpt/revenue --bounded
-- Paths are relative to the directory eddy runs in.

CREATE TABLE purchases (
  event_id   STRING,
  user_id    BIGINT,
  category   STRING,
  amount     DECIMAL(10, 2),
  country    STRING,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'data/purchases', 'format' = 'json');

CREATE TABLE revenue (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  category     STRING,
  `count`      BIGINT,
  revenue      DECIMAL(18, 2),
  avg_amount   DOUBLE
) WITH ('connector' = 'filesystem', 'path' = 'out/revenue', 'format' = 'json');

INSERT INTO revenue
SELECT window_start, window_end, category, COUNT(*) AS `count`, SUM(amount) AS revenue, AVG(amount) AS avg_amount
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, category;
