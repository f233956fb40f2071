-- Card-fraud rules over sliding windows:
--   1. per card, more than 5 transactions or more than 2000.00 spent within 5 minutes (checked every minute);
--   2. per card, transactions from two or more countries within 10 minutes.
--   eddy gen transactions --count 1000000 --out data/transactions
--   eddy run examples/fraud.sql --checkpoint ckpt/fraud --bounded

CREATE TABLE transactions (
  txn_id     STRING,
  card_id    BIGINT,
  merchant   STRING,
  amount     DECIMAL(10, 2),
  country    STRING,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'data/transactions', 'format' = 'json');

CREATE TABLE busy_cards WITH ('connector' = 'filesystem', 'path' = 'out/busy_cards', 'format' = 'json') AS
SELECT window_start, window_end, card_id, COUNT(*) AS transactions, SUM(amount) AS total
FROM TABLE(HOP(TABLE transactions, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTES))
GROUP BY window_start, window_end, card_id
HAVING COUNT(*) > 5 OR SUM(amount) > 2000.00;

CREATE TABLE travelling_cards WITH ('connector' = 'filesystem', 'path' = 'out/travelling_cards', 'format' = 'json') AS
SELECT window_start, window_end, card_id, COUNT(DISTINCT country) AS countries, COUNT(*) AS transactions
FROM TABLE(HOP(TABLE transactions, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '10' MINUTES))
GROUP BY window_start, window_end, card_id
HAVING COUNT(DISTINCT country) >= 2;
