-- Purchases and spending per user, per minute (the benchmark's Q_C): about a million distinct users,
-- so the state is large and each checkpoint writes only the users a batch changed.
--   eddy gen purchases --count 1000000 --out data/purchases
--   eddy run examples/users.sql --checkpoint ckpt/users --bounded
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

CREATE TABLE user_activity (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  user_id      BIGINT,
  purchases    BIGINT,
  spent        DECIMAL(18, 2)
) WITH ('connector' = 'filesystem', 'path' = 'out/users', 'format' = 'json');

INSERT INTO user_activity
SELECT window_start, window_end, user_id, COUNT(*) AS purchases, SUM(amount) AS spent
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, user_id;
