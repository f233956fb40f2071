-- Live revenue by category (make demo): purchases arrive on topic shop.purchases through the Kafka
-- protocol; every 10 seconds of event time, each category's orders and revenue land in SQLite.
--   eddy server --pipelines examples/live      (paths below are relative to where it runs)
--   eddy gen purchases --live --rate 2000 --count 100000000 --bootstrap-server 127.0.0.1:9092 --topic shop.purchases

CREATE TABLE purchases (
  event_id   STRING,
  user_id    BIGINT,
  category   STRING,
  amount     DECIMAL(10, 2),
  country    STRING,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'shop.purchases', 'format' = 'json',
        'scan.startup.mode' = 'earliest-offset', 'properties.group.id' = 'revenue');

CREATE TABLE revenue WITH ('connector' = 'sqlite', 'path' = 'out/shop.db', 'table-name' = 'revenue') AS
SELECT window_start, window_end, category, COUNT(*) AS orders, SUM(amount) AS revenue
FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, category;
